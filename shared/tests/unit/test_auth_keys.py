"""The development key pair: created once, reused, and always a matching pair."""

import threading

from carekit.auth.keys import ensure_dev_keys, load_private_key, load_public_key
from carekit.auth.tokens import TokenIssuer, TokenVerifier


def assert_pair(private, public) -> None:
    token = TokenIssuer(private, issuer="i").mint(sub="s", roles=["citizen"], audience="a")
    assert TokenVerifier(audience="a", issuer="i", public_key_files=[public]).verify(token).sub == "s"


def test_created_once_then_reused(tmp_path) -> None:
    private, public = ensure_dev_keys(tmp_path)
    first = private.read_bytes()
    assert ensure_dev_keys(tmp_path) == (private, public)
    assert private.read_bytes() == first
    assert private.stat().st_mode & 0o077 == 0
    assert_pair(private, public)


def test_missing_public_key_is_recreated_from_the_private_key(tmp_path) -> None:
    private, public = ensure_dev_keys(tmp_path)
    public.unlink()
    ensure_dev_keys(tmp_path)
    assert_pair(private, public)


def test_services_starting_together_agree_on_one_pair(tmp_path) -> None:
    # Several services start at once on a fresh checkout; all must end up with the same matching pair.
    for attempt in range(20):
        folder = tmp_path / str(attempt)
        barrier = threading.Barrier(8)
        results = []

        def start(folder=folder, barrier=barrier, results=results) -> None:
            barrier.wait()
            results.append(ensure_dev_keys(folder))

        threads = [threading.Thread(target=start) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        private, public = results[0]
        assert load_private_key(private).public_key() == load_public_key(public), f"attempt {attempt}"
        assert_pair(private, public)
        assert sorted(p.name for p in folder.iterdir()) == [private.name, public.name]
