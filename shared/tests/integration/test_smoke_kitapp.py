from kitapp.app import ROOT, make_app

from carekit.testing.service import running


async def test_create_and_read_note(migrated_database, nats_url, tokens) -> None:
    url = await migrated_database("alpha", ROOT)
    async with running(make_app("alpha", url, nats_url)) as client:
        h = tokens.headers(roles=["caseworker"], region="360702")
        created = await client.post("/v1/notes", json={"region": "360702001001", "body": "hi"}, headers=h)
        assert created.status_code == 201, created.text
        got = await client.get(f"/v1/notes/{created.json()['id']}", headers=h)
        assert got.status_code == 200
