"""A short, human label for a browser from its User-Agent header ("Chrome on Android")."""

from __future__ import annotations

# Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser/", "Samsung Internet"),
             ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("CrOS", "ChromeOS"),
            ("Windows", "Windows"), ("Macintosh", "macOS"), ("Linux", "Linux"))


def device_label(user_agent: str | None) -> str:
    """``Firefox on Windows``, ``Safari on iPhone``; ``Browser`` when nothing is recognised."""
    agent = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in agent), "Browser")
    system = next((name for token, name in _SYSTEMS if token in agent), None)
    return f"{browser} on {system}" if system else browser
