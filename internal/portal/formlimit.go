package portal

import (
	"errors"
	"fmt"
	"net/http"
)

// maxForm bounds what a signed-in form may send, and maxLoginForm the
// sign-in form, which anyone may send.
const (
	maxForm      = 64 << 10
	maxLoginForm = 16 << 10
)

// readForm reads a POST form of at most limit bytes. When it cannot, it
// shows a page that says why, nothing having changed, and returns false:
// a form over the limit would otherwise read as empty, and be refused as
// expired for want of its token.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, sess *session, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	err := r.ParseForm()
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.errorPage(w, r, sess, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"This form is larger than the %d KiB the portal accepts, so nothing was changed. Go back, shorten what you typed (a URL has at most 2,048 characters, each credential at most 1,024) and send it again.", limit>>10))
		return false
	}
	s.errorPage(w, r, sess, http.StatusBadRequest, "This form could not be read, so nothing was changed. Go back, reload the page and try again.")
	return false
}
