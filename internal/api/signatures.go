package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// webhookWithSecret is a webhook with the secret Hookshot generated for
// it, shown this once; absent when the caller chose the secret.
type webhookWithSecret struct {
	webhookJSON
	Secret string `json:"secret,omitempty"`
}

type rotateSecretRequest struct {
	Secret  *string `json:"secret"`
	Overlap *string `json:"overlap"`
}

func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	var req rotateSecretRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	overlap, err := service.ParseOverlap(deref(req.Overlap))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if req.Secret != nil && *req.Secret == "" {
		s.problem(w, r, hookshot.Invalid("secret is empty; give the new secret, or leave the field out to have one generated.",
			hookshot.FieldError{Field: "secret", Message: "is empty"}))
		return
	}
	hook, generated, err := s.svc.Webhooks.RotateSecret(r.Context(), p, study, id, deref(req.Secret), overlap)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("webhook secret rotated", "study_id", study, "webhook_id", id, "overlap", overlap.String(), "by", p.Name)
	writeJSON(w, http.StatusOK, webhookWithSecret{renderWebhook(hook), generated})
}

type rotateSigningKeyRequest struct {
	Overlap *string `json:"overlap"`
}

// signingKeyJSON describes a signing key without its key material; the
// public key itself is in the JWKS.
type signingKeyJSON struct {
	Kid       string     `json:"kid"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *Server) rotateSigningKey(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, ok := s.studyPath(w, r)
	if !ok {
		return
	}
	var req rotateSigningKeyRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	overlap, err := service.ParseOverlap(deref(req.Overlap))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	keys, err := s.svc.Webhooks.RotateSigningKey(r.Context(), p, study, overlap)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := struct {
		Keys []signingKeyJSON `json:"keys"`
	}{Keys: make([]signingKeyJSON, len(keys))}
	for i, k := range keys {
		out.Keys[i] = signingKeyJSON{Kid: k.ID, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}
	}
	s.log.Info("signing key rotated", "study_id", study, "kid", keys[0].ID, "overlap", overlap.String(), "by", p.Name)
	writeJSON(w, http.StatusOK, out)
}

// jwkJSON is an Ed25519 public key as RFC 8037 writes it.
type jwkJSON struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// jwksMaxAge is how long receivers and caches may keep the JWKS. A
// rotation's overlap longer than this lets every receiver see the new key
// before the old one stops signing.
const jwksMaxAge = "300"

// jwks serves the study's public signing keys (RFC 7517), without a
// token: they are public, and receivers fetch them. A study without keys
// has an empty set.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	study, ok := s.studyPath(w, r)
	if !ok {
		return
	}
	keys, err := s.svc.Webhooks.SigningKeys(r.Context(), study)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	set := struct {
		Keys []jwkJSON `json:"keys"`
	}{Keys: make([]jwkJSON, len(keys))}
	for i, k := range keys {
		set.Keys[i] = jwkJSON{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.PublicKey), Kid: k.ID, Use: "sig", Alg: "EdDSA"}
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	writeJSONCached(w, set, "public, max-age="+jwksMaxAge)
}

// writeJSONCached is writeJSON's 200 for answers that caches may keep.
func writeJSONCached(w http.ResponseWriter, v any, cacheControl string) {
	w.Header().Set("Cache-Control", cacheControl)
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
