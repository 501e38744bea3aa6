using System.Net;
using System.Net.Sockets;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Hypervisor.Kvm;
using HyperSharp.Machine.Migration;

// The destination process of a live migration, for the two-process test: listens on loopback, prints "LISTENING <port>",
// receives one VM on the backend named by the first argument (emulated | kvm), prints "RECEIVED", runs it with its console
// on stdout, and ends with a line "STOPPED <reason>" (exit 0), or "FAILED <message>" (exit 1) when the migration fails.
string backend = args.Length > 0 ? args[0] : "emulated";
IHypervisor hypervisor = backend == "kvm" ? new KvmHypervisor() : new EmulatedHypervisor();
var stdout = Console.OpenStandardOutput();
void Say(string line) { var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n"); lock (stdout) { stdout.Write(bytes); stdout.Flush(); } }

using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
listener.Listen(1);
Say($"LISTENING {((IPEndPoint)listener.LocalEndPoint!).Port}");
using var connection = await listener.AcceptAsync();
connection.NoDelay = true;
try
{
    using var vm = await MigrationTarget.ReceiveAsync(hypervisor, new NetworkStream(connection), b => { lock (stdout) { stdout.WriteByte(b); if (b == '\n') stdout.Flush(); } },
        message => Console.Error.WriteLine(message));
    Say("RECEIVED");
    var stopped = vm.Run();
    Say($"\nSTOPPED {stopped.Reason}");
    return 0;
}
catch (MigrationException e)
{
    Say($"FAILED {e.Message}");
    return 1;
}
