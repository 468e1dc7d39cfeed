package sqlstore

// Probes is how many readiness probes the store has run.
func (s *Store) Probes() int {
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	return s.ready.probes
}
