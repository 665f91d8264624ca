"""The web forms, with CSRF protection from Flask-WTF."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from notifier.core.ids import USER_ID_PATTERN
from notifier.model.channels import CHANNELS
from notifier.model.requests import PRIORITIES
from notifier.model.types import BROADCAST_LABELS

#: Shortest password accepted for a new account or a password change.
MIN_PASSWORD = 10


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in")


def _new_password(label: str) -> PasswordField:
    return PasswordField(label, validators=[
        InputRequired(), Length(min=MIN_PASSWORD, max=1024,
                                message=f"Use at least {MIN_PASSWORD} characters."),
    ])


class RegisterForm(FlaskForm):
    username = StringField("Username", validators=[
        InputRequired(),
        Regexp(USER_ID_PATTERN, message="1-64 letters, digits or _ . : @ -"),
    ])
    password = _new_password("Password")
    confirm = PasswordField("Repeat password", validators=[
        EqualTo("password", message="The passwords differ.")])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired()])
    password = _new_password("New password")
    confirm = PasswordField("Repeat new password", validators=[
        EqualTo("password", message="The passwords differ.")])


class SetPasswordForm(FlaskForm):
    """The page an invite or reset link opens."""

    password = _new_password("New password")
    confirm = PasswordField("Repeat password", validators=[
        EqualTo("password", message="The passwords differ.")])


class CreateUserForm(FlaskForm):
    """The admin console's new account: an invite link, unless a password is typed."""

    username = StringField("Username", filters=[lambda v: v.strip() if v else v], validators=[
        InputRequired(message="Enter a username."),
        Regexp(USER_ID_PATTERN, message="1-64 letters, digits or _ . : @ -"),
    ], render_kw={"autocapitalize": "none", "spellcheck": "false", "maxlength": 64})
    admin = BooleanField("Make admin")
    password = PasswordField("Password", validators=[
        Optional(), Length(min=MIN_PASSWORD, max=1024,
                           message=f"Use at least {MIN_PASSWORD} characters.")])


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


#: Longest name an API key may have.
MAX_API_KEY_NAME = 100


class ScopeFields(FlaskForm):
    """One checkbox per API key scope (``notifier.stores.api_keys.SCOPES``), all ticked at first."""

    scope_send = BooleanField("Send: notifications, broadcasts, group and scheduled sends",
                              default=True)
    scope_read = BooleanField("Read: inboxes, receipts, preferences, devices, groups, presence",
                              default=True)
    scope_manage = BooleanField("Manage: mark read, delete, preferences, devices, groups",
                                default=True)
    scope_widget = BooleanField("Widget: mint widget tokens and sign-in links for users",
                                default=True)

    def chosen_scopes(self) -> list[str]:
        """The ticked scopes' names."""
        return [name.removeprefix("scope_") for name in
                ("scope_send", "scope_read", "scope_manage", "scope_widget")
                if self[name].data]

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.chosen_scopes():
            self.form_errors.append("Tick at least one scope.")
            return False
        return True


class ApiKeyForm(ScopeFields):
    name = StringField("Name", filters=[_strip], validators=[
        DataRequired(message="Name the key after what will use it."),
        Length(max=MAX_API_KEY_NAME, message=f"At most {MAX_API_KEY_NAME} characters."),
        Regexp(r"^[^\x00-\x1f\x7f]*\Z", message="No control characters, please."),
    ])
    # One per rendered form, so a resubmitted form cannot create a second key.
    request_id = HiddenField(validators=[InputRequired(), Regexp(r"^[A-Za-z0-9_-]{22}$")])


class ApiKeyScopesForm(ScopeFields):
    """What an existing API key may do."""


class ApiKeyOriginsForm(FlaskForm):
    """The web origins an API key's widget tokens may be used from, one a line; parsed
    by ``origins.parse_origins`` in the view."""

    origins = TextAreaField("Allowed origins", render_kw={
        "rows": 5, "autocapitalize": "none", "spellcheck": "false",
        "placeholder": "https://app.example.com"})


#: The one-time id of a rendered form (22 URL-safe characters).
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{22}$"

#: Largest UTC offset a browser may report, in minutes (UTC+14:00).
MAX_OFFSET_MINUTES = 14 * 60

#: What each channel is called on the pages.
CHANNEL_NAMES = {"in_app": "In-app", "web_push": "Browser push", "email": "Email",
                 "mobile_push": "Mobile push", "sms": "SMS"}

#: Broadcast kinds offered by the compose form (any type slug is accepted; the console
#: offers described types too, named as the inbox names them).
BROADCAST_TYPES = [SelectChoice(slug, label) for slug, label in BROADCAST_LABELS.items()]

#: The form's datetime fields, each with a hidden ``<name>_offset`` beside it.
BROADCAST_TIMES = ("starts_at", "ends_at", "expires_at", "send_at")


def _unix_newlines(value: str | None) -> str | None:
    """Browsers send a textarea's line breaks as CRLF; the API stores LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def _when(label: str) -> DateTimeLocalField:
    return DateTimeLocalField(label, validators=[Optional()],
                              invalid_value_message="Enter a date and time, or leave it empty.",
                              render_kw={"step": 60, "data-utc-offset": "true"})


def _offset() -> HiddenField:
    """The browser's UTC offset (minutes east) at the time entered beside it; empty: UTC."""
    return HiddenField(validators=[Optional(), Regexp(r"^-?[0-9]{1,3}$")])


class BroadcastForm(FlaskForm):
    """The compose form. Only the form's own mechanics are checked here (CSRF, a
    parsable date); what it says is validated by ``schemas.BroadcastRequest``."""

    title = StringField("Title")
    body = TextAreaField("Message", filters=[_unix_newlines], render_kw={"rows": 4})
    type = SelectField("Kind", choices=BROADCAST_TYPES, default="system",
                       validate_choice=False)
    priority = SelectField("Priority", default="normal", validate_choice=False,
                           choices=[SelectChoice(p, p.capitalize()) for p in PRIORITIES])
    link = URLField("Link", render_kw={"placeholder": "https://"})
    starts_at = _when("Window starts")
    ends_at = _when("Window ends")
    expires_at = _when("Expires")
    send_at = _when("Send at")
    starts_at_offset = _offset()
    ends_at_offset = _offset()
    expires_at_offset = _offset()
    send_at_offset = _offset()
    # One per rendered form: sending it twice makes one broadcast.
    request_id = HiddenField(validators=[InputRequired(), Regexp(REQUEST_ID_PATTERN)])


class GroupForm(FlaskForm):
    """Create a group; ``schemas.GroupRequest`` validates the name and description."""

    name = StringField("Name", render_kw={"autocapitalize": "none", "spellcheck": "false",
                                          "maxlength": 64})
    description = StringField("Description", render_kw={"maxlength": 500})


class TypeForm(FlaskForm):
    """Describe a notification type; ``schemas.TypeRequest`` validates what it says."""

    type = StringField("Type", render_kw={"autocapitalize": "none", "spellcheck": "false",
                                          "maxlength": 64, "placeholder": "security.login"})
    label = StringField("Label", render_kw={"maxlength": 80,
                                            "placeholder": "Security alerts"})
    description = StringField("Description", render_kw={"maxlength": 300})
    category = StringField("Category on the settings page", render_kw={"maxlength": 40,
                                                                       "placeholder": "Account"})
    defaults = RadioField("Default channels", default="row", choices=[
        SelectChoice("row", "Each user's default row"),
        SelectChoice("own", "Only the channels ticked below")])
    default_channels = SelectMultipleField(
        "Channels on by default", choices=[SelectChoice(c, CHANNEL_NAMES[c]) for c in CHANNELS],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        validate_choice=False)
    user_can_disable = BooleanField("Users may turn it off", default=True)


class MemberForm(FlaskForm):
    """Add a member by user id."""

    user_id = StringField("User id", validators=[
        DataRequired(message="Enter a user id."),
        Regexp(USER_ID_PATTERN, message="User ids are 1-64 letters, digits or _ . : @ -"),
    ], render_kw={"autocapitalize": "none", "spellcheck": "false", "maxlength": 64})


class SettingsForm(FlaskForm):
    """The settings page's contact details, zone and quiet hours (the switch matrix is read
    beside it). Only CSRF is checked here: ``schemas.PreferencesRequest`` validates the
    rest, as for the API."""

    email = StringField("Email address", filters=[_strip], render_kw={
        "type": "email", "autocomplete": "email", "spellcheck": "false", "maxlength": 254})
    phone = StringField("Mobile number for SMS", filters=[_strip], render_kw={
        "type": "tel", "autocomplete": "tel", "placeholder": "+4915112345678",
        "maxlength": 16})
    timezone = SelectField("Time zone", validate_choice=False)
    quiet_start = StringField("From", filters=[_strip], render_kw={"type": "time", "step": 60})
    quiet_end = StringField("To", filters=[_strip], render_kw={"type": "time", "step": 60})
