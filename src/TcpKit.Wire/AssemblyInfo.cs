using System.Runtime.CompilerServices;

// Locals are not zeroed on entry: C#'s definite assignment covers every local, and each stackalloc here is
// written before it is read (text formatting and address bytes). Parsing and emitting headers per packet
// would otherwise zero header-sized structs in every prologue.
[module: SkipLocalsInit]
