// The host service runs on Linux only (Unix sockets, /proc, cgroups, file modes), and so do its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
