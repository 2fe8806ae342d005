package main

// The network model (docs/protocol.md, "network") wrapped around hashicorp's
// InmemTransport: every message waits latency + U[0, jitter] and is lost with
// probability drop_rate. InmemTransport itself delivers at once; only this
// wrapper makes its messages take time.
//
// A synchronous RPC (RequestVote, a lone AppendEntries, ...) is two messages:
// the request waits its delay before the inner call, the response its own
// after. A lost request or response ends the call with an error once its
// delay has passed, as a reset connection would; hashicorp backs off and
// retries as it does on a real network.
//
// AppendEntriesPipeline is hashicorp's pipelining, which the leader uses in
// steady state. A pipeline stands for one TCP stream, so it keeps its order:
// each request is sent at max(its due time, the previous one's), and each
// response comes back likewise. A lost message errors its future, and
// hashicorp drops the pipeline and falls back to single RPCs, as it does when
// a NetworkTransport stream breaks.

import (
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"raftbench/go_raft/network"
)

var errDropped = errors.New("message dropped by the network model")

// netModel is go_raft's network model, which draws every message's delay and
// loss from the scenario's seed, shared by every server's goroutines.
type netModel struct {
	mu    sync.Mutex
	model *network.Network
}

// message counts one message and draws its delay, and whether it is lost.
// The anchor runs no partitions, so the ends do not matter.
func (m *netModel) message() (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	us, ok := m.model.Delay(0, 0)
	return time.Duration(us) * time.Microsecond, !ok
}

// counts is how many messages were sent and dropped.
func (m *netModel) counts() (sent, dropped int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.model.Sent, m.model.Dropped
}

// sleepUntil waits for t; a delay already spent (a 1 µs network) costs nothing.
func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

// hop is one message from now: it waits its delay and says whether it arrived.
func (m *netModel) hop() error {
	d, lost := m.message()
	sleepUntil(time.Now().Add(d))
	if lost {
		return errDropped
	}
	return nil
}

// transport is an InmemTransport whose outgoing messages cross the model.
// Incoming RPCs arrive on the embedded transport's Consumer, already delayed
// by the sender's wrapper.
type transport struct {
	*raft.InmemTransport
	net *netModel
}

// call is one synchronous RPC: the request's hop, the call, the response's hop.
func (t *transport) call(rpc func() error) error {
	if err := t.net.hop(); err != nil {
		return err
	}
	if err := rpc(); err != nil {
		return err
	}
	return t.net.hop()
}

func (t *transport) AppendEntries(id raft.ServerID, target raft.ServerAddress,
	args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	return t.call(func() error { return t.InmemTransport.AppendEntries(id, target, args, resp) })
}

func (t *transport) RequestVote(id raft.ServerID, target raft.ServerAddress,
	args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	return t.call(func() error { return t.InmemTransport.RequestVote(id, target, args, resp) })
}

func (t *transport) RequestPreVote(id raft.ServerID, target raft.ServerAddress,
	args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return t.call(func() error { return t.InmemTransport.RequestPreVote(id, target, args, resp) })
}

func (t *transport) TimeoutNow(id raft.ServerID, target raft.ServerAddress,
	args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	return t.call(func() error { return t.InmemTransport.TimeoutNow(id, target, args, resp) })
}

// AppendEntriesPipeline wraps the inner pipeline in the model (see the top).
func (t *transport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	inner, err := t.InmemTransport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	p := &pipeline{
		inner: inner, net: t.net,
		sendQ: make(chan *pending, pipelineDepth), awaitQ: make(chan *pending, pipelineDepth),
		replyQ: make(chan *pending, pipelineDepth),
		out:    make(chan raft.AppendFuture, pipelineDepth), quit: make(chan struct{}),
	}
	go p.send()
	go p.receive()
	go p.deliver()
	return p, nil
}

// pipelineDepth bounds the requests in flight on one pipeline; a full
// pipeline makes the leader wait, as a full socket buffer would.
const pipelineDepth = 128

type pending struct {
	fut   *appendFuture
	at    time.Time // when the request is due at the follower, then its reply back
	inner raft.AppendFuture
	err   error
}

type pipeline struct {
	inner  raft.AppendPipeline
	net    *netModel
	sendQ  chan *pending
	awaitQ chan *pending
	replyQ chan *pending
	out    chan raft.AppendFuture
	quit   chan struct{}
	once   sync.Once
	last   time.Time // the last request's due time (send goroutine's own)
}

func (p *pipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	f := &appendFuture{start: time.Now(), args: args, resp: resp, done: make(chan struct{})}
	d, lost := p.net.message()
	e := &pending{fut: f, at: f.start.Add(d)}
	if lost {
		e.err = errDropped
	}
	select {
	case p.sendQ <- e:
		return f, nil
	case <-p.quit:
		return nil, raft.ErrPipelineShutdown
	}
}

// send delivers requests in order, each at its due time or after the previous one.
func (p *pipeline) send() {
	for {
		var e *pending
		select {
		case e = <-p.sendQ:
		case <-p.quit:
			return
		}
		if e.at.Before(p.last) {
			e.at = p.last
		}
		p.last = e.at
		if e.err == nil {
			sleepUntil(e.at)
			e.inner, e.err = p.inner.AppendEntries(e.fut.args, e.fut.resp)
		}
		select {
		case p.awaitQ <- e:
		case <-p.quit:
			return
		}
	}
}

// receive stamps each response as the inner pipeline gives it back, in order;
// deliver hands it to hashicorp one delay later, so that a response waiting
// for its turn does not add its delay to the one before it.
func (p *pipeline) receive() {
	for {
		var e *pending
		select {
		case e = <-p.awaitQ:
		case <-p.quit:
			return
		}
		if e.inner != nil {
			select {
			case <-p.inner.Consumer(): // the inner pipeline answers in order: e.inner
				e.err = e.inner.Error()
			case <-p.quit:
				return
			}
			d, lost := p.net.message()
			e.at = time.Now().Add(d)
			if lost && e.err == nil {
				e.err = errDropped
			}
		}
		select {
		case p.replyQ <- e:
		case <-p.quit:
			return
		}
	}
}

func (p *pipeline) deliver() {
	var last time.Time
	for {
		var e *pending
		select {
		case e = <-p.replyQ:
		case <-p.quit:
			return
		}
		if e.inner != nil {
			if e.at.Before(last) {
				e.at = last
			}
			last = e.at
			sleepUntil(e.at)
		}
		e.fut.finish(e.err)
		select {
		case p.out <- e.fut:
		case <-p.quit:
			return
		}
	}
}

func (p *pipeline) Consumer() <-chan raft.AppendFuture { return p.out }

func (p *pipeline) Close() error {
	p.once.Do(func() { close(p.quit) })
	return p.inner.Close()
}

// appendFuture is the pipeline's raft.AppendFuture.
type appendFuture struct {
	start time.Time
	args  *raft.AppendEntriesRequest
	resp  *raft.AppendEntriesResponse
	err   error
	done  chan struct{}
}

func (f *appendFuture) finish(err error) {
	f.err = err
	close(f.done)
}

func (f *appendFuture) Error() error {
	<-f.done
	return f.err
}

func (f *appendFuture) Start() time.Time                      { return f.start }
func (f *appendFuture) Request() *raft.AppendEntriesRequest   { return f.args }
func (f *appendFuture) Response() *raft.AppendEntriesResponse { return f.resp }
func msDuration(ms float64) time.Duration                     { return time.Duration(ms * float64(time.Millisecond)) }
