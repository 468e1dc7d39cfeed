package credential

import "sync"

// maxOpened bounds how many opened credentials (and, apart, signing keys)
// a Box keeps: one per webhook or key in use is the working set, and a few
// hundred bytes each keep even the bound small. Past it, an arbitrary
// entry makes room; a dropped one is only opened again.
const maxOpened = 4096

// opened keeps what a Box opened, keyed by the sealed bytes, so that the
// delivery of every attempt does not decrypt and decode the same bytes
// again. The key is the whole sealed value, nonce and tag included:
// bytes that opened once open to the same thing every time, and edited
// or rotated credentials are sealed afresh, under a new key. What it
// holds stays in this process's memory, like the Box's key.
type opened[V any] struct {
	mu      sync.RWMutex
	entries map[string]V
}

func (o *opened[V]) get(sealed []byte) (V, bool) {
	o.mu.RLock()
	v, ok := o.entries[string(sealed)]
	o.mu.RUnlock()
	return v, ok
}

func (o *opened[V]) put(sealed []byte, v V) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.entries == nil {
		o.entries = make(map[string]V)
	}
	if len(o.entries) >= maxOpened {
		for k := range o.entries {
			delete(o.entries, k)
			break
		}
	}
	o.entries[string(sealed)] = v
}

func (o *opened[V]) len() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return len(o.entries)
}
