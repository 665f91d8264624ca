"""HTTP API v1: groups (topics), their members, and sending to them."""

from __future__ import annotations

import hashlib

from flask import current_app, g, jsonify, request

from notifier.api.requests import (
    accepted,
    created,
    idempotency_of,
    limit_arg,
    parse_body,
    user_id_arg,
)
from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.core.idempotency import IdempotencyConflict
from notifier.model.requests import GroupRequest, GroupSendRequest
from notifier.scheduling.announcements import schedule_group_send
from notifier.stores.groups import Group, GroupFull, GroupNotFound, is_group_name


def _name(value: str) -> str:
    if not is_group_name(value):
        raise ApiError(422, "invalid_field", "group must be 1-64 lowercase letters, digits "
                       "and _ . -", "group")
    return value


def _missing(name: str) -> ApiError:
    return ApiError(404, "not_found", f"No group named {name!r}.")


def _found(group: Group | None, name: str) -> Group:
    if group is None:
        raise _missing(name)
    return group


def create_group():
    """Create a group."""
    body = parse_body(GroupRequest, root_field="name")
    if not backend().groups.create(body.name, body.description):
        raise ApiError(409, "conflict", f"A group named {body.name!r} exists.", "name")
    response = jsonify(_found(backend().groups.get(body.name), body.name).to_dict())
    response.status_code = 201
    return response


def list_groups():
    """Groups in name order, with member counts."""
    groups, after = backend().groups.page(limit=limit_arg(), after=request.args.get("after"))
    return jsonify(groups=[g.to_dict() for g in groups], next=after)


def get_group(group: str):
    """One group."""
    return jsonify(_found(backend().groups.get(_name(group)), group).to_dict())


def delete_group(group: str):
    """Delete a group (its members keep what they were sent)."""
    if not backend().groups.delete(_name(group)):
        raise _missing(group)
    return "", 204


def list_members(group: str):
    """Member ids in id order."""
    try:
        members, after = backend().groups.members(_name(group), limit=limit_arg(),
                                                  after=request.args.get("after"))
    except GroupNotFound:
        raise _missing(group) from None
    return jsonify(members=members, next=after)


def add_member(group: str, user_id: str):
    """Add a member (from now on: older group notifications are not theirs)."""
    name, user_id = _name(group), user_id_arg(user_id)
    try:
        added = backend().groups.add_member(name, user_id)
    except GroupNotFound:
        raise _missing(group) from None
    except GroupFull:
        raise ApiError(409, "group_full", f"The group has "
                       f"{current_app.config['GROUP_MAX_MEMBERS']} members, its maximum; "
                       "send to everyone with a broadcast.") from None
    response = jsonify(group=name, user_id=user_id, added=added)
    response.status_code = 201 if added else 200
    return response


def remove_member(group: str, user_id: str):
    """Remove a member (they keep what they were sent)."""
    name, user_id = _name(group), user_id_arg(user_id)
    try:
        removed = backend().groups.remove_member(name, user_id)
    except GroupNotFound:
        raise _missing(group) from None
    if not removed:
        raise ApiError(404, "not_found", f"{user_id!r} is not a member of {name!r}.")
    return "", 204


def send_to_group(group: str):
    """Send one notification to every member (copied into each inbox), now or at send_at."""
    name = _name(group)
    body = parse_body(GroupSendRequest, root_field="title")
    idempotency = idempotency_of(body.idempotency_key, body)
    if idempotency:  # the same key for another group is a different request
        scope, key, fingerprint = idempotency
        idempotency = (scope, key, hashlib.sha256(f"{name}\n{fingerprint}".encode()).hexdigest())
    try:
        if body.send_at is not None:
            if backend().groups.get(name) is None:
                raise _missing(group)
            return accepted(schedule_group_send(
                name, body, created_by=f"api:{g.api_key.key_id}", idempotency=idempotency))
        members, outcome = backend().groups.send(
            name, body, idempotency=idempotency,
            idempotency_ttl=current_app.config["IDEMPOTENCY_TTL"])
    except GroupNotFound:
        raise _missing(group) from None
    except IdempotencyConflict:
        raise ApiError(422, "idempotency_conflict", "This idempotency_key was already used "
                       "with a different request.", "idempotency_key") from None
    return created(members, outcome)


def group_presence(group: str):
    """Which members of the group are online now."""
    name = _name(group)
    try:
        members = backend().groups.member_ids(name)
    except GroupNotFound:
        raise _missing(group) from None
    online = sorted(backend().presence.online_among(members))
    return jsonify(group=name, members=len(members), online=len(online), users=online)
