package committer

import (
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// overlay keeps the objects one commit attempt writes in memory, in front
// of the local clone: the clone only ever holds objects the remote has too,
// and a rejected or crashed attempt leaves nothing behind.
type overlay struct {
	base storer.EncodedObjectStorer
	objs map[plumbing.Hash]plumbing.EncodedObject
}

func newOverlay(base storer.EncodedObjectStorer) *overlay {
	return &overlay{base: base, objs: map[plumbing.Hash]plumbing.EncodedObject{}}
}

// NewEncodedObject implements storer.EncodedObjectStorer.
func (o *overlay) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

// SetEncodedObject implements storer.EncodedObjectStorer.
func (o *overlay) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h := obj.Hash()
	o.objs[h] = obj
	return h, nil
}

// EncodedObject implements storer.EncodedObjectStorer.
func (o *overlay) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if obj, ok := o.objs[h]; ok {
		if t != plumbing.AnyObject && obj.Type() != t {
			return nil, plumbing.ErrObjectNotFound
		}
		return obj, nil
	}
	return o.base.EncodedObject(t, h)
}

// IterEncodedObjects implements storer.EncodedObjectStorer over the base only.
func (o *overlay) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	return o.base.IterEncodedObjects(t)
}

// HasEncodedObject implements storer.EncodedObjectStorer.
func (o *overlay) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := o.objs[h]; ok {
		return nil
	}
	return o.base.HasEncodedObject(h)
}

// EncodedObjectSize implements storer.EncodedObjectStorer.
func (o *overlay) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if obj, ok := o.objs[h]; ok {
		return obj.Size(), nil
	}
	return o.base.EncodedObjectSize(h)
}

// AddAlternate implements storer.EncodedObjectStorer; overlays have none.
func (o *overlay) AddAlternate(string) error {
	return errors.New("overlay: alternates not supported")
}
