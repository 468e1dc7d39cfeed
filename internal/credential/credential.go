// Package credential seals webhook credentials at rest with AES-256-GCM,
// so a copy of the database, a backup or a stray query result does not
// give away receivers' passwords and secrets: the key lives elsewhere
// (HOOKSHOT_SECRET_KEY, or a key file beside a SQLite database).
package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hookshot/hookshot"
)

// KeySize is the size of a key in bytes: AES-256.
const KeySize = 32

// formatV1 is the first byte of everything Seal returns. Naming the format
// lets a later version change the algorithm or layout and still open what
// this one sealed.
const formatV1 byte = 1

// ErrCannotOpen means sealed credentials failed authentication: they were
// sealed with another key, or changed since. AES-GCM cannot tell the two
// apart, and neither can the caller.
var ErrCannotOpen = errors.New("credential: sealed credentials do not open with this key; " +
	"HOOKSHOT_SECRET_KEY (or the key file beside the SQLite database) must be the key they were sealed with")

// Box seals and opens credentials with one key. It is safe for concurrent
// use.
type Box struct {
	aead cipher.AEAD
	// Opening runs for every delivery attempt; what opened once is kept.
	credentials opened[hookshot.Credentials]
	keys        opened[ed25519.PrivateKey]
}

// New returns a Box for a KeySize-byte key. It fails for any other length.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("credential: the key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	return &Box{aead: aead}, nil
}

// String keeps the key out of logs: without it, printing a Box with %v
// would print the cipher's expanded key.
func (b *Box) String() string { return "credential.Box{key hidden}" }

// GoString is String for %#v.
func (b *Box) GoString() string { return b.String() }

// ParseKey parses a key written as 64 hexadecimal characters (either
// case), ignoring surrounding white space such as a file's final newline.
// Its errors never repeat the input, which may be a real key with a typo.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) != 2*KeySize {
		return nil, fmt.Errorf("the key must be %d hexadecimal characters (%d bytes; e.g. from `openssl rand -hex %d`), not %d characters", 2*KeySize, KeySize, KeySize, len(s))
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the key must be %d hexadecimal characters (0-9, a-f); it has other characters", 2*KeySize)
	}
	return key, nil
}

// GenerateKey returns a fresh random key from the operating system's
// random source.
func GenerateKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("credential: generating a key: %w", err)
	}
	return key, nil
}

// LoadOrCreateKeyFile returns the key kept in the file at path, 64
// hexadecimal characters. If there is no such file it creates one, with a
// fresh key and mode 0600 (owner only), and returns that key. Processes
// that start together agree on one key: the file appears whole or not at
// all, and whoever loses the race reads the winner's.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := createKeyFile(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, err
	}
	return key, nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credential: reading the key file: %w", err)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("credential: key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes the key to a temporary file and links it into
// place, which fails if path exists: no reader ever sees a half-written
// key, and an existing key is never replaced (that would orphan every
// credential sealed with it).
func createKeyFile(path string, key []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("credential: creating the key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("credential: writing the key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		// Some file systems have no hard links; create the file directly,
		// still refusing to replace one.
		return createKeyFileDirectly(path, key)
	}
	// The link must survive a crash, or the next start would make a new
	// key; sync the directory, where the name lives. Not every platform
	// can, and the key file is already complete, so this is best effort.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	return nil
}

func createKeyFileDirectly(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("credential: creating the key file: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("credential: writing the key file: %w", err)
	}
	return nil
}

// Seal encrypts c for storage: the format byte, a random 12-byte nonce,
// then the AES-GCM ciphertext and tag of c as JSON, authenticated together
// with the format byte. Sealing the same credentials twice gives different
// bytes, so equal secrets do not show as equal ciphertexts.
func (b *Box) Seal(c hookshot.Credentials) ([]byte, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("credential: encoding credentials: %w", err)
	}
	defer clear(plain)
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+b.aead.Overhead())
	out[0] = formatV1
	nonce := out[1 : 1+ns]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("credential: generating a nonce: %w", err)
	}
	return b.aead.Seal(out, nonce, plain, out[:1]), nil
}

// Open decrypts what Seal returned. Empty or nil input opens to zero
// Credentials without error: a webhook without authentication stores
// nothing. Bytes sealed with another key, or changed, give ErrCannotOpen;
// bytes in no known format give another error.
func (b *Box) Open(sealed []byte) (hookshot.Credentials, error) {
	var c hookshot.Credentials
	if len(sealed) == 0 {
		return c, nil
	}
	if c, ok := b.credentials.get(sealed); ok {
		return c, nil
	}
	if sealed[0] != formatV1 {
		return c, fmt.Errorf("credential: sealed credentials are in format %d, which this version of Hookshot does not know", sealed[0])
	}
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() {
		return c, fmt.Errorf("credential: sealed credentials are truncated (%d bytes)", len(sealed))
	}
	plain, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealed[:1])
	if err != nil {
		return c, ErrCannotOpen
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, &c); err != nil {
		return hookshot.Credentials{}, fmt.Errorf("credential: decoding opened credentials: %w", err)
	}
	b.credentials.put(sealed, c)
	return c, nil
}
