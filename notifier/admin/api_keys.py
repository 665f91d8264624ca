"""Admin console, API keys: create (the secret is shown once), list, revoke, and set a
key's scopes and the web origins whose pages may use the widget tokens it mints."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from notifier.backend import backend
from notifier.core.origins import MAX_KEY_ORIGINS, parse_origins
from notifier.web.forms import ApiKeyForm, ApiKeyOriginsForm, ApiKeyScopesForm


def _keys_page(form: ApiKeyForm, status: int = 200):
    keys = sorted(backend().api_keys.list(), key=lambda k: k.created_at, reverse=True)
    return render_template("admin/api_keys.html", form=form, keys=keys), status


def api_keys():
    """Every API key, newest first, and a form to create one."""
    return _keys_page(ApiKeyForm(request_id=secrets.token_urlsafe(16)))


def api_keys_create():
    """Create a key and show its secret, this once."""
    form = ApiKeyForm()
    if not form.validate_on_submit():
        if form.request_id.errors:
            form.form_errors.append("This form is out of date. Please try again.")
            form.request_id.data = secrets.token_urlsafe(16)
        return _keys_page(form, 422)
    made = backend().api_keys.create_once(form.request_id.data, form.name.data,
                                          created_by=current_user.user_id,
                                          scopes=form.chosen_scopes())
    if made is None:
        flash("That form was sent already and its key exists (listed below). "
              "Its secret was shown once and cannot be shown again.", "info")
        return redirect(url_for(".api_keys"))
    key, secret = made
    response = make_response(render_template("admin/api_key_created.html", key=key,
                                             secret=secret))
    response.headers["Cache-Control"] = "no-store"  # the secret must not linger in caches
    return response


def api_keys_confirm_revoke(key_id: str):
    """Ask before revoking a key."""
    key = backend().api_keys.get(key_id)
    if key is None:
        abort(404, description="There is no API key with that id.")
    return render_template("admin/api_key_revoke.html", key=key,
                           within=_within(current_app.config["API_KEY_CACHE_SECONDS"]))


def api_keys_revoke(key_id: str):
    """Revoke a key: calls made with it get 401 from then on."""
    store = backend().api_keys
    key = store.get(key_id)
    if key is None or not store.revoke(key_id):
        abort(404, description="There is no API key with that id.")
    flash(f"Revoked “{key.name}” ({key.key_id}). Calls made with it get 401 "
          f"{_within(current_app.config['API_KEY_CACHE_SECONDS'])}; the widget tokens it "
          f"minted are refused, and their open streams closed, at once.", "success")
    return redirect(url_for(".api_keys"))


def _live_key(key_id: str):
    key = backend().api_keys.get(key_id)
    if key is None or key.revoked:
        abort(404, description="There is no live API key with that id.")
    return key


def api_keys_origins(key_id: str):
    """The origins whose pages may use this key's widget tokens, in a form to change them."""
    key = _live_key(key_id)
    form = ApiKeyOriginsForm(data={"origins": "\n".join(key.origins)})
    return render_template("admin/api_key_origins.html", key=key, form=form,
                           limit=MAX_KEY_ORIGINS)


def api_keys_origins_save(key_id: str):
    """Replace the key's allowed origins (all or nothing: one bad line changes none)."""
    key = _live_key(key_id)
    form = ApiKeyOriginsForm()
    origins = None
    if form.validate_on_submit():
        lines = [line.strip() for line in (form.origins.data or "").splitlines()]
        try:
            origins = parse_origins([line for line in lines if line], limit=MAX_KEY_ORIGINS)
        except ValueError as exc:
            form.origins.errors = [str(exc)]
    if origins is None:
        return render_template("admin/api_key_origins.html", key=key, form=form,
                               limit=MAX_KEY_ORIGINS), 422
    backend().api_keys.set_origins(key_id, origins)
    count = f"{len(origins)} allowed origin{'s' if len(origins) != 1 else ''}" if origins \
        else "no allowed origins: its widget tokens work on this site only"
    flash(f"“{key.name}” now has {count}. Tokens minted before keep their origins until "
          f"they expire.", "success")
    return redirect(url_for(".api_keys"))


def api_keys_scopes(key_id: str):
    """What the key may do, in a form to change it."""
    key = _live_key(key_id)
    form = ApiKeyScopesForm(data={f"scope_{s}": s in key.scopes for s in
                                  ("send", "read", "manage", "widget")})
    return render_template("admin/api_key_scopes.html", key=key, form=form)


def api_keys_scopes_save(key_id: str):
    """Replace the key's scopes; every worker applies them at once."""
    key = _live_key(key_id)
    form = ApiKeyScopesForm()
    if not form.validate_on_submit():
        return render_template("admin/api_key_scopes.html", key=key, form=form), 422
    scopes = form.chosen_scopes()
    backend().api_keys.set_scopes(key_id, scopes)
    flash(f"“{key.name}” may now: {', '.join(scopes)}.", "success")
    return redirect(url_for(".api_keys"))


def _within(cache_seconds: float) -> str:
    """When a revoked key stops working everywhere (each worker caches verified keys)."""
    if cache_seconds <= 0:
        return "at once"
    return f"within {cache_seconds:g} second{'s' if cache_seconds != 1 else ''}"
