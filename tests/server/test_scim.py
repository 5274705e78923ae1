"""databricks-sdk's users, groups and service principals clients, unchanged, against a
real `podium serve`: token owners are users, `admins` and `users` exist, SCIM filters
select, and a malformed filter is a 400."""

from __future__ import annotations

import uuid

import pytest
from databricks.sdk.errors import BadRequest, NotFound, ResourceConflict
from databricks.sdk.service import iam

from tests.server.conftest import Server


def test_the_token_owner_is_a_user_and_an_admin(server: Server) -> None:
    w = server.sdk()
    me = w.current_user.me()
    assert me.user_name in {u.user_name for u in w.users.list()}
    assert w.users.get(me.id).user_name == me.user_name
    groups = {g.display_name: g for g in w.groups.list()}
    assert {"admins", "users"} <= set(groups)
    assert me.id in {m.value for m in w.groups.get(groups["admins"].id).members}
    assert "users" in {g.display for g in me.groups}


def test_users_and_groups_are_made_filtered_patched_and_deleted(server: Server) -> None:
    w = server.sdk()
    tag = uuid.uuid4().hex[:6]
    ada = w.users.create(user_name=f"ada.{tag}@example.com", display_name="Ada Lovelace")
    bob = w.users.create(user_name=f"bob.{tag}@example.com", display_name="Bob", active=False)
    with pytest.raises(ResourceConflict):
        w.users.create(user_name=f"ada.{tag}@example.com")

    found = list(w.users.list(filter=f'userName sw "ada.{tag}"'))
    assert [u.id for u in found] == [ada.id]
    both = {u.id for u in w.users.list(
        filter=f'userName co "{tag}" and (displayName eq "Bob" or active eq true)')}
    assert both == {ada.id, bob.id}
    assert [u.id for u in w.users.list(filter=f'userName co "{tag}" and active eq false')] \
        == [bob.id]
    assert [u.id for u in w.users.list(filter=f'emails[value ew "ada.{tag}@example.com"]')] \
        == [ada.id]
    page = server.get("/api/2.0/preview/scim/v2/Users", filter=f'userName co "{tag}"',
                      count=1, startIndex=2, attributes="userName").json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (2, 2, 1)
    assert set(page["Resources"][0]) == {"id", "schemas", "userName"}

    team = w.groups.create(display_name=f"team-{tag}",
                           members=[iam.ComplexValue(value=ada.id)])
    assert [m.value for m in w.groups.get(team.id).members] == [ada.id]
    w.groups.patch(team.id, operations=[iam.Patch(
        op=iam.PatchOp.ADD, value={"members": [{"value": bob.id}]})],
        schemas=[iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP])
    assert {m.value for m in w.groups.get(team.id).members} == {ada.id, bob.id}
    assert f"team-{tag}" in {g.display for g in w.users.get(bob.id).groups}
    w.groups.patch(team.id, operations=[iam.Patch(
        op=iam.PatchOp.REMOVE, path=f'members[value eq "{ada.id}"]')],
        schemas=[iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP])
    assert [m.value for m in w.groups.get(team.id).members] == [bob.id]
    w.users.patch(bob.id, operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="active",
                                                value=True)],
                  schemas=[iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP])
    assert w.users.get(bob.id).active

    robot = w.service_principals.create(display_name=f"etl-{tag}")
    assert robot.application_id and robot.display_name == f"etl-{tag}"
    assert [s.id for s in w.service_principals.list(
        filter=f'displayName eq "etl-{tag}"')] == [robot.id]

    w.groups.delete(team.id)
    for principal in (ada, bob):
        w.users.delete(principal.id)
    w.service_principals.delete(robot.id)
    with pytest.raises(NotFound):
        w.users.get(ada.id)
    with pytest.raises(ResourceConflict, match="built in"):
        w.groups.delete(next(g.id for g in w.groups.list() if g.display_name == "admins"))


@pytest.mark.parametrize("text", ['userName eq', 'userName zz "a"', '(userName eq "a"',
                                  'userName eq "a" and'])
def test_a_malformed_filter_is_a_400_that_shows_it(server: Server, text: str) -> None:
    with pytest.raises(BadRequest, match="Invalid filter"):
        list(server.sdk().users.list(filter=text))
