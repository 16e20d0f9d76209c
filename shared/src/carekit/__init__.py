"""carekit: the common kit every Guanhuai service is built on."""
