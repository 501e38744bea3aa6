// The agent runs only in Linux guests (AF_VSOCK, FIFREEZE, /proc).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
