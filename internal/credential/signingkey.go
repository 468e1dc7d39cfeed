package credential

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
)

// formatKeyV1 is the first byte of a sealed signing key. It is
// authenticated with the ciphertext, so that sealed credentials cannot
// be opened as a key, nor a key as credentials.
const formatKeyV1 byte = 0x81

// SealPrivateKey encrypts a study's Ed25519 private key for storage, as
// Seal does credentials: the format byte, a random nonce, and the
// AES-GCM ciphertext and tag of the key's seed.
func (b *Box) SealPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("credential: an Ed25519 private key is %d bytes, not %d", ed25519.PrivateKeySize, len(key))
	}
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+ed25519.SeedSize+b.aead.Overhead())
	out[0] = formatKeyV1
	nonce := out[1 : 1+ns]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("credential: generating a nonce: %w", err)
	}
	return b.aead.Seal(out, nonce, key.Seed(), out[:1]), nil
}

// OpenPrivateKey decrypts what SealPrivateKey returned. Bytes sealed with
// another key, or changed, give ErrCannotOpen. The key returned is shared
// by every caller that opens the same bytes: it must not be changed.
// (Sharing it also lets crypto/ed25519 keep its precomputation of the key
// from one signature to the next.)
func (b *Box) OpenPrivateKey(sealed []byte) (ed25519.PrivateKey, error) {
	if key, ok := b.keys.get(sealed); ok {
		return key, nil
	}
	if len(sealed) == 0 || sealed[0] != formatKeyV1 {
		return nil, fmt.Errorf("credential: this is not a sealed signing key")
	}
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() {
		return nil, fmt.Errorf("credential: the sealed signing key is truncated (%d bytes)", len(sealed))
	}
	seed, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealed[:1])
	if err != nil {
		return nil, ErrCannotOpen
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("credential: the sealed signing key holds %d bytes, not a %d-byte seed", len(seed), ed25519.SeedSize)
	}
	key := ed25519.NewKeyFromSeed(seed)
	b.keys.put(sealed, key)
	return key, nil
}
