package hookshot

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Encode renders the cursor as an opaque token for next_cursor.
func (c Cursor) Encode() string {
	raw := strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "," + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a token made by Cursor.Encode.
func DecodeCursor(token string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Cursor{}, fmt.Errorf("cursor is not base64: %w", err)
	}
	micros, id, ok := strings.Cut(string(raw), ",")
	if !ok || id == "" {
		return Cursor{}, fmt.Errorf("cursor has no id")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return Cursor{}, fmt.Errorf("cursor time: %w", err)
	}
	return Cursor{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}
