"""The kilde command: one click group (main.py) that registers every command explicitly."""
