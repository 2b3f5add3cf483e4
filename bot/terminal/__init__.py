"""The terminal chat: the loop, rich rendering, live streaming."""
