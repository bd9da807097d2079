"""The operators' console: a server-rendered web page of the bot's own aiohttp server, opened
from a one-time link that `/console` sends (admins, validators, referents).

`access` (who may enter, links, sessions, audit), `files` (reading, validating, writing and
versioning the content files), `web` (the aiohttp routes and Jinja2 templates).
"""
