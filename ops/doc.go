// Package ops is how to write your own handle, and the operations-as-values
// layer under every handle: users of rapyer do not need to import it.
//
// # Writing a handle
//
// A handle is a struct that embeds rapyer.Scalar[T] (a value stored as one
// field of the object's hash) or rapyer.Container (a value stored under its
// own key beside the hash), plus methods. Every such type is an ops.Handle,
// and the functions of this package run its operations:
//
//   - Script runs a Lua script (one of package lua's) on the handle's field
//     in one round trip, with the object's existence check, its TTL refresh,
//     its version and its indexes handled as for the built-in handles.
//   - Read runs one read command inside MULTI/EXEC with the existence check
//     and the TTL refresh.
//   - FieldError names the model, object and field in an error found before
//     anything is sent; Encode and DecodeReply go through the field's codec;
//     FlatReply, Apply, KeyIndex, SameObject and Fallback serve containers.
//   - InitContainer declares a container handle's kind and local copy (a
//     Local), from its Named method.
//
// Both Script and Read take a decode function that turns the reply into the
// method's result and updates the handle's local value. Do all the work
// there: inside Store.Batch or Store.Tx the call is only queued, and decode
// runs once the queue has run (rapyer.Later reads its result). A handle
// written this way works alone, in a Batch and in a Tx, on every backend,
// with no code of its own for any of them. See the example, and package
// types, whose handles are written exactly this way.
//
// # Operations as values
//
// Every operation of the library, alone or queued, is a Unit (plain
// commands, commands inside MULTI/EXEC, or one script call, with the keys
// it runs on) and a completion that decodes its replies. The root package's
// executor (exec.go) is the only code that takes a connection and writes
// to it: it sends units, recovers a lost script by sending its unit again
// whole, frames a Tx, and hands back one Result per unit. This package does
// no I/O.
//
// Imports point one way: lua and serialize below ops, ops below index and
// the root package, types above the root.
package ops
