"""Resource control-plane calls through real boto3 against a running apiway, compared with the
responses and errors recorded from AWS."""

from __future__ import annotations

from tests.conformance.control_plane import assert_like_recorded, assert_recorded_error, new_api, recorded_content


def _replace(apigw, api_id: str, resource_id: str, path: str, value: str | None = None, op: str = "replace"):
    patch = {"op": op, "path": path, **({"value": value} if value is not None else {})}
    return apigw.update_resource(restApiId=api_id, resourceId=resource_id, patchOperations=[patch])


def test_resource_lifecycle_matches_aws(apigw):
    want = recorded_content("test_resource_lifecycle")
    api_id, root_id = new_api(apigw, "resource-lifecycle")
    assert_like_recorded(apigw.get_resources(restApiId=api_id), want["rest-api-root-resource"])
    pets = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="pets")
    assert_like_recorded(pets, want["create-resource"])
    assert pets["parentId"] == root_id
    assert_like_recorded(apigw.get_resources(restApiId=api_id), want["rest-api-resources-after-create"])
    sub = apigw.create_resource(restApiId=api_id, parentId=pets["id"], pathPart="subpets")
    assert_like_recorded(sub, want["create-subresource"])
    assert_like_recorded(apigw.get_resources(restApiId=api_id), want["rest-api-resources-after-create-sub"])
    assert_like_recorded(_replace(apigw, api_id, pets["id"], "/pathPart", "dogs"), want["update-path-part"])
    assert_like_recorded(apigw.get_resource(restApiId=api_id, resourceId=pets["id"]),
                         want["get-resp-after-update-path-part"])
    assert apigw.get_resource(restApiId=api_id, resourceId=sub["id"])["path"] == "/dogs/subpets"
    assert_like_recorded(apigw.delete_resource(restApiId=api_id, resourceId=pets["id"]), want["del-resource"])
    assert_like_recorded(apigw.get_resources(restApiId=api_id), want["rest-api-resources-after-delete"])


def test_update_resource_behaviour(apigw):
    test = "test_update_resource_behaviour"
    want = recorded_content(test)
    api_id, root_id = new_api(apigw, "resource-behaviour")
    pets = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="pets")["id"]
    assert_recorded_error(lambda: _replace(apigw, api_id, "fake-resource", "/pathPart", "dogs"), test,
                          "nonexistent-resource")
    assert_recorded_error(lambda: _replace(apigw, api_id, pets, "/invalid", "dogs"), test, "invalid-path-part")
    assert_recorded_error(lambda: _replace(apigw, api_id, pets, "/parentId", "fake-parent-id"), test,
                          "invalid-parent-id")
    sub = apigw.create_resource(restApiId=api_id, parentId=pets, pathPart="subpets")
    assert_like_recorded(sub, want["create-subresource"])
    child = apigw.create_resource(restApiId=api_id, parentId=sub["id"], pathPart="pets")
    assert_like_recorded(child, want["create-subresource-child"])
    assert_recorded_error(lambda: _replace(apigw, api_id, child["id"], "/parentId", root_id), test,
                          "existing-future-sibling-path")
    apigw.delete_resource(restApiId=api_id, resourceId=child["id"])
    assert_recorded_error(lambda: _replace(apigw, api_id, pets, "/parentId", sub["id"]), test,
                          "update-parent-id-to-subresource-id")
    assert_like_recorded(_replace(apigw, api_id, sub["id"], "/parentId", root_id), want["update-parent-id-to-root-id"])
    assert_recorded_error(lambda: _replace(apigw, api_id, sub["id"], "/pathPart", "pets"), test,
                          "update-path-already-exists")
    apigw.delete_resource(restApiId=api_id, resourceId=pets)
    assert_like_recorded(apigw.get_resources(restApiId=api_id), want["resources-after-deletion"])
    assert_recorded_error(lambda: _replace(apigw, api_id, sub["id"], "/pathPart", op="remove"), test,
                          "remove-unsupported")
    assert_recorded_error(lambda: _replace(apigw, api_id, sub["id"], "/pathPart", "added-pets", op="add"), test,
                          "add-unsupported")


def test_moving_a_resource_moves_its_subtree(apigw):
    api_id, root_id = new_api(apigw, "resource-move")
    a = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="a")["id"]
    b = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="b")["id"]
    c = apigw.create_resource(restApiId=api_id, parentId=a, pathPart="{c}")["id"]
    d = apigw.create_resource(restApiId=api_id, parentId=c, pathPart="d")["id"]
    moved = apigw.update_resource(restApiId=api_id, resourceId=c, patchOperations=[
        {"op": "replace", "path": "/parentId", "value": b}, {"op": "replace", "path": "/pathPart", "value": "{e}"}])
    assert (moved["path"], moved["parentId"], moved["pathPart"]) == ("/b/{e}", b, "{e}")
    assert apigw.get_resource(restApiId=api_id, resourceId=d)["path"] == "/b/{e}/d"


def test_delete_resource_takes_its_descendants(apigw):
    test = "test_delete_resource"
    want = recorded_content(test)
    api_id, root_id = new_api(apigw, "resource-delete")
    pets = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="pets")["id"]
    sub = apigw.create_resource(restApiId=api_id, parentId=pets, pathPart="subpets")["id"]
    assert_like_recorded(apigw.delete_resource(restApiId=api_id, resourceId=pets), want["delete-resource"])
    assert_like_recorded(apigw.get_resources(restApiId=api_id), want["get-resources"])
    assert_recorded_error(lambda: apigw.delete_resource(restApiId=api_id, resourceId=sub), test, "delete-subresource")


def test_create_resource_unknown_parent(apigw):
    api_id, _ = new_api(apigw, "resource-parent")
    assert_recorded_error(lambda: apigw.create_resource(restApiId=api_id, parentId="fake-resource-id",
                                                        pathPart="subpets"),
                          "test_create_resource_parent_invalid", "wrong-resource-parent-id")


def test_proxy_resources_match_aws(apigw):
    want = recorded_content("test_create_proxy_resource")
    api_id, root_id = new_api(apigw, "resource-proxy")

    def create(parent: str, part: str):
        return apigw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)

    assert_like_recorded(create(root_id, "{proxy+}"), want["create-base-proxy-resource"])
    parent = create(root_id, "parent")["id"]
    proxy_child = create(parent, "{proxy+}")
    assert_like_recorded(proxy_child, want["create-proxy-sibling-proxy-child-resource"])
    static_child = create(parent, "child")
    assert_like_recorded(static_child, want["create-proxy-sibling-static-child-resource"])
    assert_like_recorded(create(static_child["id"], "{proxy+}"), want["create-static-child-proxy-resource"])
    assert_like_recorded(apigw.get_resources(restApiId=api_id), want["all-resources"])
    apigw.delete_resource(restApiId=api_id, resourceId=proxy_child["id"])
    dynamic = create(parent, "{child}")
    assert_like_recorded(dynamic, want["create-proxy-sibling-dynamic-child-resource"])
    assert_like_recorded(create(dynamic["id"], "{proxy+}"), want["create-dynamic-child-proxy-resource"])
    assert_like_recorded(apigw.get_resources(restApiId=api_id), want["all-resources-2"])


def test_proxy_resource_validation(apigw):
    test = "test_create_proxy_resource_validation"
    want = recorded_content(test)
    api_id, root_id = new_api(apigw, "resource-proxy-validation")

    def create(parent: str, part: str):
        return apigw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)

    proxy = create(root_id, "{proxy+}")
    assert_like_recorded(proxy, want["create-base-proxy-resource"])
    assert_recorded_error(lambda: create(root_id, "{dynamic}"), test, "create-proxy-dynamic-sibling-resource")
    assert_recorded_error(lambda: create(proxy["id"], "child"), test, "create-proxy-static-child-resource")
    assert_recorded_error(lambda: create(proxy["id"], "{child}"), test, "create-proxy-dynamic-child-resource")
    parent = create(root_id, "parent")["id"]
    assert_like_recorded(create(parent, "{child+}"), want["create-greedy-child-resource"])


def test_root_resource_cannot_be_updated(apigw):
    api_id, root_id = new_api(apigw, "resource-root")
    test = "test_update_resource_on_root"
    assert_recorded_error(lambda: _replace(apigw, api_id, root_id, "/pathPart", "root"), test, "update-root-path-part")
    other = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="other")["id"]
    assert_recorded_error(lambda: _replace(apigw, api_id, root_id, "/parentId", other), test, "update-root-parent")


def test_resources_list_methods_unless_embedded(apigw):
    api_id, root_id = new_api(apigw, "resource-embed")
    apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET", type="MOCK")
    plain = apigw.get_resources(restApiId=api_id)["items"][0]
    assert plain["resourceMethods"] == {"GET": {}}
    assert apigw.get_resource(restApiId=api_id, resourceId=root_id)["resourceMethods"] == {"GET": {}}
    embedded = apigw.get_resources(restApiId=api_id, embed=["methods"])["items"][0]["resourceMethods"]["GET"]
    assert embedded["methodIntegration"]["type"] == "MOCK"
    assert embedded == apigw.get_resource(restApiId=api_id, resourceId=root_id, embed=["methods"])[
        "resourceMethods"]["GET"]
