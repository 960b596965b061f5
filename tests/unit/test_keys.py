from skyglass.domain.keys import display_secret, hash_secret, new_public_key, new_secret_key, verify_secret


def test_secret_hash_verifies_only_the_same_secret_and_pepper():
    # Given a fresh key pair and its stored hash
    secret = new_secret_key()
    stored = hash_secret(secret, "pepper")
    # Then only the same secret with the same pepper verifies
    assert verify_secret(secret, stored, "pepper")
    assert not verify_secret(secret, stored, "other")
    assert not verify_secret(new_secret_key(), stored, "pepper")
    assert secret not in stored


def test_key_formats_look_like_langfuse_keys():
    assert new_public_key().startswith("pk-sg-")
    secret = new_secret_key()
    assert secret.startswith("sk-sg-")
    assert display_secret(secret) == f"{secret[:6]}...{secret[-4:]}"
