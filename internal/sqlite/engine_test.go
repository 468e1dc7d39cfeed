package sqlite

import "testing"

func TestPlaceholders(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"none", `SELECT 1`, `SELECT 1`},
		{"numbered", `UPDATE t SET a = $2 WHERE id = $1 AND b = $12`, `UPDATE t SET a = ?2 WHERE id = ?1 AND b = ?12`},
		{"used twice", `SET a = $3, b = $3`, `SET a = ?3, b = ?3`},
		{"string literal", `SELECT '$1', $1, 'it''s $2'`, `SELECT '$1', ?1, 'it''s $2'`},
		{"quoted identifier", `SELECT "$1" FROM t WHERE x = $1`, `SELECT "$1" FROM t WHERE x = ?1`},
		{"comment", "SELECT $1 -- not $2\n, $3", "SELECT ?1 -- not $2\n, ?3"},
		{"comment at the end", "SELECT $1 -- $2", "SELECT ?1 -- $2"},
		{"dollar without a number", `SELECT $a, $`, `SELECT $a, $`},
		{"unterminated literal", `SELECT $1, 'x $2`, `SELECT ?1, 'x $2`},
		{"minus is not a comment", `SELECT $1 - $2`, `SELECT ?1 - ?2`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := placeholders(c.in); got != c.want {
				t.Errorf("placeholders(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}
