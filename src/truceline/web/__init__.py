"""Dashboard (to come): server-rendered Jinja2 pages with a little JavaScript and a
Leaflet map from ``xstatic-leaflet`` (no CDN), over the shipped boundaries, served by
the API. See DESIGN.md, "Choices"."""
