package sqlite

// Unavailable is the engine's classification, for the external tests.
func Unavailable(err error) bool { return (&engine{}).Unavailable(err) }
