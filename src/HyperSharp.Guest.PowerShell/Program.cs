using Microsoft.PowerShell;

// hs-pwsh: PowerShell's console host entered in server mode (-s), which reads and writes the out-of-process remoting
// protocol on stdin/stdout. The agent relays those streams over vsock to the host, which relays them to the client's
// PSSession: objects cross the way they do in SSH remoting. No profile, no banner: a session starts as Hyper-V's
// PowerShell Direct does, clean. Extra arguments pass through (e.g. -c for a local check).
string[] arguments = args.Length > 0 ? args : ["-s", "-NoLogo", "-NoProfile"];
return ConsoleShell.Start(bannerText: null, helpText: null, arguments);
