"""Sign in, sign out, register and change password."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import RequestLimit
from flask_login import LoginManager, current_user, login_required, login_user, logout_user

from notifier.api.limiter import limiter
from notifier.backend import backend
from notifier.model.text_rules import safe_next
from notifier.web import login_throttle, registration
from notifier.web.forms import LoginForm, PasswordForm, RegisterForm

bp = Blueprint("auth", __name__)

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to see your notifications."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(session_id: str):
    return backend().accounts.load_session(session_id)


def _login_failed(_response) -> bool:
    return g.get("login_failed", False)


def _too_many_attempts(limit: RequestLimit):
    wait = login_throttle.retry_after(limit)
    form = LoginForm()
    form.form_errors.append("Too many failed sign-ins from here. Try again in "
                            f"{login_throttle.wait_text(wait)}.")
    response = current_app.make_response((render_template(
        "auth/login.html", form=form, registration=current_app.config["ALLOW_REGISTRATION"]),
        429))
    response.headers["Retry-After"] = str(wait)
    return response


def _per_client() -> str:
    return current_app.config["LOGIN_LIMIT_PER_CLIENT"]


def _per_account() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _per_ip() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


# Only failures count. Per username and client always; the username's backstop and the
# IP's limit leave out clients with a device cookie for the username (login_throttle).
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_per_client, key_func=login_throttle.client_key, methods=["POST"],
               deduct_when=_login_failed, on_breach=_too_many_attempts)
@limiter.limit(_per_account, key_func=login_throttle.account_key, methods=["POST"],
               deduct_when=_login_failed, on_breach=_too_many_attempts,
               exempt_when=login_throttle.is_known_device)
@limiter.limit(_per_ip, methods=["POST"], deduct_when=_login_failed,
               on_breach=_too_many_attempts, exempt_when=login_throttle.is_known_device)
def login():
    """Show the sign-in form; sign in and go where the user was heading."""
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    if form.validate_on_submit():
        accounts = backend().accounts
        account = accounts.authenticate(form.username.data.strip(), form.password.data)
        if account is not None:
            session.clear()  # a fresh session: nothing from before sign-in survives
            login_user(accounts.start_session(account))
            session.permanent = bool(form.remember.data)
            response = redirect(safe_next(request.args.get("next")) or url_for("inbox.index"))
            login_throttle.remember_device(response, account.user_id)
            return response
        g.login_failed = True
        form.form_errors.append("Wrong username or password.")
    elif request.method == "POST":
        g.login_failed = True
    return render_template("auth/login.html", form=form,
                           registration=current_app.config["ALLOW_REGISTRATION"])


@bp.post("/logout")
def logout():
    """Sign out and revoke this session."""
    if current_user.is_authenticated:
        backend().accounts.end_session(current_user._get_current_object())
        logout_user()
        session.clear()
    return redirect(url_for("auth.login"))


def _register_limit() -> str:
    return current_app.config["REGISTER_LIMIT_PER_IP"]


def _too_many_registrations(limit: RequestLimit):
    wait = login_throttle.retry_after(limit)
    form = RegisterForm()
    form.form_errors.append("Too many accounts tried from here. Try again in "
                            f"{login_throttle.wait_text(wait)}.")
    response = current_app.make_response(
        (render_template("auth/register.html", form=form), 429))
    response.headers["Retry-After"] = str(wait)
    return response


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """Sign out every session, refuse the widget tokens and sign-in links issued until
    now, and close every open stream of the user."""
    backend().accounts.sign_out_everywhere(current_user.user_id)
    logout_user()
    session.clear()
    flash("You were signed out everywhere.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"], on_breach=_too_many_registrations,
               exempt_when=lambda: not current_app.config["ALLOW_REGISTRATION"])
def register():
    """Create an account with a free username (``notifier.web.registration``) and sign in."""
    if not current_app.config["ALLOW_REGISTRATION"]:
        abort(404)
    form = RegisterForm()
    if form.validate_on_submit():
        accounts = backend().accounts
        if registration.register(accounts, form.username.data, form.password.data,
                                 reserved=current_app.config["RESERVED_USER_IDS"]):
            account = accounts.get(form.username.data)
            session.clear()
            login_user(accounts.start_session(account))
            flash("Welcome! Your inbox is ready.", "success")
            return redirect(url_for("inbox.index"))
        form.username.errors.append("That username is not available.")
    return render_template("auth/register.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session is signed out."""
    form = PasswordForm()
    if form.validate_on_submit():
        accounts = backend().accounts
        if accounts.authenticate(current_user.user_id, form.current.data) is None:
            form.current.errors.append("That is not your current password.")
        else:
            accounts.set_password(current_user.user_id, form.password.data,
                                  keep_session=current_user.session_token)
            flash("Password changed. Your other sessions were signed out.", "success")
            return redirect(url_for("inbox.index"))
    return render_template("auth/password.html", form=form)
