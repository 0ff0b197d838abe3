"""The gateway: the officers' REST API and web page."""
