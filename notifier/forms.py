"""The web forms, with CSRF protection from Flask-WTF."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, Regexp

from .ids import USER_ID_PATTERN

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
