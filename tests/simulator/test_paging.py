"""Paging over real HTTP: _links.next, 204 on empty and after the last page, limit clamp."""

from __future__ import annotations

from .conftest import CALC, SALES, SUB


def _seed_leads(sim, count: int) -> list[int]:
    return sim.ui_create(SUB, "leads", [{"name": f"Лид {i}", "price": i} for i in range(count)])


def test_follow_next_over_1000_leads(sim, api):
    created = set(_seed_leads(sim, 1000))
    url = "/api/v4/leads?limit=250"
    seen, pages = [], 0
    while True:
        r = api.get(url)
        if r.status_code == 204:
            assert r.content == b""
            break
        assert r.status_code == 200
        body = r.json()
        pages += 1
        assert body["_page"] == pages
        assert len(body["_embedded"]["leads"]) <= 250
        seen += [lead["id"] for lead in body["_embedded"]["leads"]]
        if "next" not in body["_links"]:
            break
        url = body["_links"]["next"]["href"]
        assert url.startswith(api.base)
    assert created <= set(seen)
    assert len(seen) == len(set(seen)) == 1008  # 1000 + 8 seeded


def test_limit_is_clamped_to_250(sim, api):
    _seed_leads(sim, 300)
    r = api.get("/api/v4/leads", params={"limit": 1000})
    assert len(r.json()["_embedded"]["leads"]) == 250
    assert "limit=250" in r.json()["_links"]["next"]["href"]


def test_empty_result_and_page_after_last_are_204(api):
    r = api.get("/api/v4/leads", params={"filter[id][]": 1})
    assert r.status_code == 204 and r.content == b""
    r = api.get("/api/v4/leads", params={"page": 2, "limit": 250})
    assert r.status_code == 204 and r.content == b""


def test_prev_first_self_links(sim, api):
    _seed_leads(sim, 30)
    body = api.get("/api/v4/leads", params={"limit": 10, "page": 2}).json()
    assert set(body["_links"]) == {"self", "next", "prev", "first"}
    assert "page=1" in body["_links"]["prev"]["href"]


def test_filters_and_order(sim, api, clock):
    ids = _seed_leads(sim, 3)
    clock.advance(minutes=5)
    sim.ui_update(SUB, "leads", [{"id": ids[1], "status_id": CALC, "pipeline_id": SALES}])
    moved_at = int(clock.now().timestamp())
    body = api.get("/api/v4/leads", params={"filter[updated_at][from]": moved_at}).json()
    assert [lead["id"] for lead in body["_embedded"]["leads"]] == [ids[1]]
    params = [("filter[id][]", ids[0]), ("filter[id][]", ids[2])]
    body = api.get("/api/v4/leads", params=params).json()
    assert sorted(lead["id"] for lead in body["_embedded"]["leads"]) == sorted([ids[0], ids[2]])
    body = api.get(
        "/api/v4/leads",
        params={"filter[statuses][0][pipeline_id]": SALES, "filter[statuses][0][status_id]": CALC},
    ).json()
    assert ids[1] in {lead["id"] for lead in body["_embedded"]["leads"]}
    assert all(lead["status_id"] == CALC for lead in body["_embedded"]["leads"])
    body = api.get("/api/v4/leads", params={"order[updated_at]": "desc", "limit": 1}).json()
    assert body["_embedded"]["leads"][0]["id"] == ids[1]
