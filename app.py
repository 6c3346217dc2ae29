"""Entry point: `python app.py` reads settings, builds the app and the scheduler, and runs
Socket Mode (SLACK_APP_TOKEN set) or the HTTP server on HOST:PORT."""

import sys

from composition import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
