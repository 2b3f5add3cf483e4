"""The Telegram front end: application, handlers, rendering, chat state, liveness."""
