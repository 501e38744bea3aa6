// The host service manages Linux processes, sockets and cgroups: it runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
