package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"

	"github.com/nicholas-fedor/shoutrrr/pkg/format"
	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
	"github.com/rs/zerolog"
)

// maxAbandoned is how many sends of one shoutrrr notifier may still be
// running after their timeout: shoutrrr's Send takes no context, so a send
// that hangs is left behind, and past this many a new send waits (up to its
// own timeout) for one of them to end instead of starting.
const maxAbandoned = 2

// chat sends the text of an event through a shoutrrr service.
type chat struct {
	raw    string
	u      *url.URL
	scheme string
	log    types.StdLogger
	slots  chan struct{}
	// title says how the title travels: in the "title" parameter, or at
	// the head of the text for services that have no title.
	title bool

	mu  sync.Mutex
	svc types.Service // located on the first send: matrix logs in then
}

func newChat(t Target, log zerolog.Logger) (*chat, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, errors.New("the url does not parse")
	}
	scheme, _, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	c := &chat{raw: t.URL, u: u, scheme: scheme, log: stdLogger{log: log, info: scheme == "logger", raw: t.URL, u: u}, slots: make(chan struct{}, maxAbandoned)}
	c.title = takesTitle(scheme) && !titleNotSent[scheme]
	if scheme == "generic" {
		// Its parameters fill its JSON template; plain text has no title.
		c.title = u.Query().Has("template")
	}
	return c, nil
}

// titleNotSent are services whose configuration has a title that their
// send never uses (matrix posts the body alone): they get the title in the
// text.
var titleNotSent = map[string]bool{"matrix": true}

// takesTitle reports whether the service's configuration has a "title"
// key: a service without one refuses a title parameter.
func takesTitle(scheme string) bool {
	var r router.ServiceRouter
	svc, err := r.NewService(scheme)
	if err != nil {
		return false
	}
	v := reflect.ValueOf(svc)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	f := v.Elem().FieldByName("Config")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.Type().Elem().Kind() != reflect.Struct {
		return false
	}
	cfg, ok := reflect.New(f.Type().Elem()).Interface().(types.ServiceConfig)
	if !ok {
		return false
	}
	pkr := format.NewPropKeyResolver(cfg)
	_, err = pkr.Get(types.TitleKey)
	return err == nil
}

// message is the text and parameters sent for ev. The title goes in the
// "title" parameter (an e-mail's subject) unless the URL sets its own; a
// service without a title (the logger, Google Chat, Zulip...) gets it at
// the head of the text.
func (c *chat) message(ev Event) (string, types.Params) {
	title, text := renderTitle(ev), renderText(ev)
	if !c.title {
		return title + "\n" + text, nil
	}
	q := c.u.Query()
	if q.Has("title") || q.Has("subject") {
		return text, nil
	}
	return text, types.Params{types.TitleKey: title}
}

func (c *chat) service() (types.Service, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.svc != nil {
		return c.svc, nil
	}
	var r router.ServiceRouter
	r.SetLogger(c.log)
	svc, err := r.Locate(c.raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", c.scheme, scrub(err.Error(), c.raw, c.u))
	}
	c.svc = svc
	return svc, nil
}

// send runs the service's Send under ctx's deadline.
func (c *chat) send(ctx context.Context, ev Event) error {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("earlier sends still hang: %w", ctx.Err())
	}
	text, params := c.message(ev)
	done := make(chan error, 1)
	go func() {
		defer func() { <-c.slots }()
		svc, err := c.service()
		if err == nil {
			if err = svc.Send(text, &params); err != nil {
				err = errors.New(scrub(err.Error(), c.raw, c.u))
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stdLogger hands shoutrrr's progress lines to zerolog: the logger
// service's lines (the notifications themselves) at info, the others' at debug.
// Every line is scrubbed of the URL and its parts: the router logs the
// URLs it converts.
type stdLogger struct {
	log  zerolog.Logger
	info bool
	raw  string
	u    *url.URL
}

func (l stdLogger) write(s string) {
	ev := l.log.Debug()
	if l.info {
		ev = l.log.Info()
	}
	ev.Str("notification", scrub(strings.TrimRight(s, "\n"), l.raw, l.u)).Msg("notification")
}

func (l stdLogger) Print(v ...any)                 { l.write(fmt.Sprint(v...)) }
func (l stdLogger) Printf(format string, v ...any) { l.write(fmt.Sprintf(format, v...)) }
func (l stdLogger) Println(v ...any)               { l.write(fmt.Sprintln(v...)) }
