"""The API reference page (/api/docs): the served OpenAPI document rendered by the vendored
Swagger UI, under the app's own Content-Security-Policy."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from notifier.api.openapi import openapi_document
from notifier.web.security import CONTENT_SECURITY_POLICY

from conftest import ARTIFACTS, ROOT

VENDOR = ROOT / "static" / "vendor" / "swagger-ui"


def operations() -> int:
    methods = {"get", "put", "post", "delete", "patch"}
    return sum(len(methods & set(item)) for item in openapi_document()["paths"].values())


def test_the_page_loads_only_its_own_static_files_under_the_apps_policy(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = response.text
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    for asset in ("vendor/swagger-ui/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui.css",
                  "api-reference.js"):
        assert f'"/static/{asset}"' in html
        assert client.get(f"/static/{asset}").status_code == 200
    assert "<script>" not in html and "style=" not in html


def test_the_vendored_copy_carries_its_license_and_version():
    assert "Apache License" in (VENDOR / "LICENSE").read_text()
    version = (VENDOR / "VERSION.md").read_text()
    assert "swagger-ui-dist` 5.36.0" in version
    bundle_head = Path(VENDOR / "swagger-ui-bundle.js").read_text()[:200]
    assert "swagger-ui-bundle.js.LICENSE.txt" in bundle_head


@pytest.mark.browser
def test_chromium_renders_every_operation_without_a_console_error(browser, live_server):
    context = browser.new_context(viewport={"width": 1200, "height": 750})
    page = context.new_page()
    problems, elsewhere = [], []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("request", lambda r: r.url.startswith(live_server.url) or elsewhere.append(r.url))
    try:
        page.goto(f"{live_server.url}/api/docs")
        send = page.locator(".opblock-summary", has_text="Send one notification to user_id")
        expect(send).to_be_visible(timeout=15_000)
        expect(page.locator(".opblock")).to_have_count(operations())
        page.screenshot(path=ARTIFACTS / "api-reference.png")
        send.click()
        expect(page.get_by_text("Request body").first).to_be_visible()
        expect(page.locator(".opblock-post.is-open")).to_contain_text("201")
        page.screenshot(path=ARTIFACTS / "api-reference-send.png", full_page=False)
    finally:
        context.close()
    assert problems == []
    assert elsewhere == []
