"""The transport between a trainer process and its clients (monitors, attach, stop, ls).

protocol: frames and messages · server: the socket a trainer serves (also a sink) ·
client: a Control that talks to it · paths: where the socket is · lookup: which run a name means.
"""
