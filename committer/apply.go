package committer

import (
	"errors"
	"fmt"
	"sort"
	"text/template"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/hoist-gitops/hoist/internal/bus"
)

// Dropped is a rewrite the re-check at the head refused, and why.
type Dropped struct {
	Rewrite bus.Rewrite
	Reason  string
}

// edits is the outcome of a batch against one head: the new content of the
// files that change, and what became of each rewrite.
type edits struct {
	Files   map[string][]byte
	Applied []bus.Rewrite
	Dropped []Dropped
}

// editBatch re-checks every rewrite against its file in the snapshot and
// applies the survivors, one file at a time. Rewrites of a file that is
// missing, unsafe (symlink, outside the repository) or no longer parses are
// dropped; only a store failure is an error.
//
// memo (may be nil) holds edits worked out earlier; one is used only when
// it was made on the blob the file has in sn, for the same rewrites.
func editBatch(sn *snapshot, rws []bus.Rewrite, edit Editor, memo *editMemo) (edits, error) {
	out := edits{Files: map[string][]byte{}}
	byFile := map[string][]bus.Rewrite{}
	var files []string
	for _, rw := range rws {
		if _, ok := byFile[rw.File]; !ok {
			files = append(files, rw.File)
		}
		byFile[rw.File] = append(byFile[rw.File], rw)
	}
	sort.Strings(files)
	dropAll := func(list []bus.Rewrite, reason string) {
		for _, rw := range list {
			out.Dropped = append(out.Dropped, Dropped{rw, reason})
		}
	}
	for _, file := range files {
		list := byFile[file]
		blob, _, err := sn.fileEntry(file)
		var pe *PathError
		if errors.As(err, &pe) {
			dropAll(list, pe.Reason)
			continue
		}
		if err != nil {
			return edits{}, err
		}
		var newData []byte
		var outcomes []Outcome
		if m, ok := memo.lookup(file, blob, list); ok {
			newData, outcomes, err = m.data, m.outcomes, m.err
		} else {
			data, rerr := readBlob(sn.s, blob)
			if rerr != nil {
				return edits{}, rerr
			}
			newData, outcomes, err = edit(file, data, list)
		}
		if err != nil {
			dropAll(list, "re-check at the head: "+err.Error())
			continue
		}
		if len(outcomes) != len(list) {
			return edits{}, fmt.Errorf("editor returned %d outcomes for %d rewrites of %s", len(outcomes), len(list), file)
		}
		for _, o := range outcomes {
			if o.Applied {
				out.Applied = append(out.Applied, o.Rewrite)
			} else {
				out.Dropped = append(out.Dropped, Dropped{o.Rewrite, o.Reason})
			}
		}
		if plumbing.ComputeHash(plumbing.BlobObject, newData) != blob {
			out.Files[file] = newData
		}
	}
	return out, nil
}

// commitSpec is what a commit is made of besides its tree.
type commitSpec struct {
	Parent            plumbing.Hash
	Message           string
	Author, Committer object.Signature
	Signer            Signer
}

// writeCommit writes the commit object for tree and returns its hash.
func (w *treeWriter) writeCommit(tree plumbing.Hash, spec commitSpec) (plumbing.Hash, error) {
	c := &object.Commit{
		Author:       spec.Author,
		Committer:    spec.Committer,
		Message:      spec.Message,
		TreeHash:     tree,
		ParentHashes: []plumbing.Hash{spec.Parent},
	}
	if spec.Signer != nil {
		unsigned := &plumbing.MemoryObject{}
		if err := c.EncodeWithoutSignature(unsigned); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
		}
		r, err := unsigned.Reader()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		sig, err := spec.Signer.Sign(r)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("sign commit: %w", err)
		}
		c.PGPSignature = string(sig)
	}
	obj := w.s.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
	}
	return w.store(obj)
}

// built is a commit made on a base, ready to push.
type built struct {
	edits
	// Commit is zero when nothing changes.
	Commit plumbing.Hash
	// Objects are the new objects the remote needs (blobs, trees, commit).
	Objects []plumbing.Hash
	// MessageErr is why the configured message template failed on this
	// batch; the commit then carries the default message.
	MessageErr error
}

// commitParams fixes everything about a commit except its base and rewrites.
type commitParams struct {
	Repo, Branch string
	Template     *template.Template
	// Author and Committer are name and e-mail.
	Author, Committer [2]string
	Signer            Signer
	Now               func() time.Time
}

// buildCommit applies rws on the commit base and writes the commit into s
// (normally an overlay), touching only the trees on the changed paths.
// memo (may be nil) holds edits prepared while the batch was held.
func buildCommit(s storer.EncodedObjectStorer, base plumbing.Hash, rws []bus.Rewrite, edit Editor, memo *editMemo, p commitParams) (built, error) {
	bc, err := object.GetCommit(s, base)
	if err != nil {
		return built{}, fmt.Errorf("%w: read head commit %s: %v", errObjectMissing, base, err)
	}
	sn := newSnapshot(s, bc.TreeHash)
	e, err := editBatch(sn, rws, edit, memo)
	if err != nil {
		return built{}, err
	}
	b := built{edits: e}
	if len(e.Files) == 0 {
		return b, nil
	}
	w := newTreeWriter(sn)
	tree, err := w.writeTree(bc.TreeHash, e.Files)
	if err != nil {
		return built{}, err
	}
	if tree == bc.TreeHash {
		return b, nil
	}
	data := newMessageData(p.Repo, p.Branch, e.Applied)
	msg, err := renderMessage(p.Template, data)
	if err != nil {
		// A template that passed the startup check can still fail on a real
		// batch (an index beyond the changes, say): the commit still lands,
		// with the default message, rather than the batch failing forever.
		b.MessageErr = err
		if msg, err = renderMessage(defaultMessageTemplate, data); err != nil {
			return built{}, err
		}
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	when := now().Truncate(time.Second)
	b.Commit, err = w.writeCommit(tree, commitSpec{
		Parent:    base,
		Message:   msg,
		Author:    object.Signature{Name: p.Author[0], Email: p.Author[1], When: when},
		Committer: object.Signature{Name: p.Committer[0], Email: p.Committer[1], When: when},
		Signer:    p.Signer,
	})
	if err != nil {
		return built{}, err
	}
	b.Objects = w.Written
	return b, nil
}
