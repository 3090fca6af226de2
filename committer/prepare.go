package committer

import (
	"reflect"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/gitfetch"
)

// editMemo keeps the re-check and edit of each file of the batch being
// held, worked out while the quiet window is still open, so the flush
// only has to write trees and push. An entry is used only for the exact
// blob the file has at the head the flush builds on and the exact
// rewrites the flush holds for it; anything else is edited afresh.
type editMemo struct {
	files map[string]*memoEntry
	// sn reads the head the last edit was made at.
	sn *snapshot
}

// memoEntry is one file's rewrites and, when worked out, the editor's
// answer for them on blob.
type memoEntry struct {
	rws      []bus.Rewrite
	done     bool
	blob     plumbing.Hash
	data     []byte
	outcomes []Outcome
	err      error
}

// maxPreparedRewrites bounds the rewrites of one file that are prepared:
// each new one edits the file again with all of them, so a file many
// rewrites meet in (a values file of many images) is left to the flush.
const maxPreparedRewrites = 8

func newEditMemo() *editMemo { return &editMemo{files: map[string]*memoEntry{}} }

// lookup returns the memoised edit of file when it was made on blob for
// exactly rws.
func (m *editMemo) lookup(file string, blob plumbing.Hash, rws []bus.Rewrite) (*memoEntry, bool) {
	if m == nil {
		return nil, false
	}
	e, ok := m.files[file]
	if !ok || !e.done || e.blob != blob || !reflect.DeepEqual(e.rws, rws) {
		return nil, false
	}
	return e, true
}

// prepare adds rw to the held batch's memo and edits its file at the
// clone's head of the tracked branch. Failures only leave the file to be
// edited at the flush.
func (w *writer) prepare(rw bus.Rewrite) {
	if w.memo == nil {
		w.memo = newEditMemo()
	}
	e := w.memo.files[rw.File]
	if e == nil {
		e = &memoEntry{}
		w.memo.files[rw.File] = e
	}
	e.rws = append(e.rws, rw)
	e.done, e.data, e.outcomes, e.err = false, nil, nil, nil
	if len(e.rws) > maxPreparedRewrites || !w.loaded.Load() {
		return
	}
	ref, err := w.clone.st.Reference(gitfetch.TrackingRef(w.repo.Branch))
	if err != nil {
		return
	}
	if w.memo.sn == nil || w.memo.sn.commit != ref.Hash() || w.memo.sn.s != w.clone.st {
		sn, err := snapshotAt(w.clone.st, ref.Hash())
		if err != nil {
			return
		}
		w.memo.sn = sn
	}
	blob, _, err := w.memo.sn.fileEntry(rw.File)
	if err != nil {
		return // a PathError is found again at the flush
	}
	data, err := readBlob(w.clone.st, blob)
	if err != nil {
		return
	}
	newData, outcomes, err := w.edit(rw.File, data, append([]bus.Rewrite(nil), e.rws...))
	e.done, e.blob, e.data, e.outcomes, e.err = true, blob, newData, outcomes, err
}

// dropMemo forgets the held batch's edits once it was flushed.
func (w *writer) dropMemo() { w.memo = nil }
