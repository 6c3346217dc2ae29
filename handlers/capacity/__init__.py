"""Capacity in Slack: `/servicedesk capacity [item]` (command.py, called by the /servicedesk
listener) and the capacity lines of `/ci show` (render.py). Measurements arrive over HTTP
(bot.capacity_http) or from a file (`servicedesk capacity import`), not through Slack."""
