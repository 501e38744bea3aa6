// The tests drive the guest agent, which runs only on Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
