"""What people read about service changes (a change of type "service"); the listeners are the
change kind's (handlers/changes/listeners.py)."""
