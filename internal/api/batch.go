package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// batchBodyFactor is how many times HOOKSHOT_MAX_BODY a batch's body may
// be: 500 events of a few KiB each are more than one event's limit, but
// each payload is still held to it (see publishBatch).
const batchBodyFactor = 10

type batchRequest struct {
	Events []batchEvent `json:"events"`
}

type batchEvent struct {
	Type           string          `json:"type"`
	Payload        json.RawMessage `json:"payload"`
	IdempotencyKey string          `json:"idempotency_key"`
}

type batchResponse struct {
	Events []batchPublication `json:"events"`
}

// batchPublication is a publication, and whether its idempotency key
// answered an earlier one (a single publish says so in the
// Idempotent-Replayed header).
type batchPublication struct {
	publishResponse
	Replayed bool `json:"replayed"`
}

// publishBatch is POST /v1/studies/{study}/events/batch (SPEC §17): 202
// with one publication per event, in order, or 422 naming each problem by
// its index with nothing stored.
func (s *Server) publishBatch(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, ok := pathID(r, "study")
	if !ok {
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Study %q does not exist, or you may not see it.", r.PathValue("study")))
		return
	}
	var req batchRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	var tooLarge []hookshot.FieldError
	for i, e := range req.Events {
		if int64(len(e.Payload)) > s.opts.MaxBody {
			tooLarge = append(tooLarge, hookshot.FieldError{Field: fmt.Sprintf("events[%d].payload", i),
				Message: fmt.Sprintf("is %d bytes, more than the limit of %d for one event (HOOKSHOT_MAX_BODY)", len(e.Payload), s.opts.MaxBody)})
		}
	}
	if len(tooLarge) > 0 {
		s.problem(w, r, &hookshot.Error{Code: hookshot.ETooLarge, Message: "Nothing was published: " + tooLarge[0].Field + " " + tooLarge[0].Message + ".", FieldErrors: tooLarge})
		return
	}
	events := make([]service.PublishInput, len(req.Events))
	for i, e := range req.Events {
		events[i] = service.PublishInput{Type: e.Type, Payload: e.Payload, IdempotencyKey: e.IdempotencyKey}
	}
	pubs, err := s.svc.Events.PublishBatch(r.Context(), p, study, events, traceParent(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := batchResponse{Events: make([]batchPublication, len(pubs))}
	for i, pub := range pubs {
		out.Events[i] = batchPublication{publishResponse: renderPublication(pub), Replayed: pub.Replayed}
	}
	writeJSON(w, http.StatusAccepted, out)
}
