using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper vm memory NAME [--startup SIZE] [...]`: Get-VMMemory without options, Set-VMMemory with them. On a running VM
/// with runtime resize, --startup resizes it at once and says what the guest did not give back or take.
/// </summary>
internal static class MemoryCommand
{
    public static Command Create(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var startup = new Option<string?>("--startup") { Description = "Startup memory, e.g. 2GB; on a running VM with runtime resize, its memory now" };
        var dynamic = new Option<bool?>("--dynamic") { Description = "Dynamic memory on or off (VM off)" };
        var minimum = new Option<string?>("--minimum") { Description = "Dynamic memory's minimum (VM off)" };
        var maximum = new Option<string?>("--maximum") { Description = "Dynamic memory's maximum (VM off)" };
        var buffer = new Option<int?>("--buffer") { Description = "Dynamic memory's buffer, percent (5-2000)" };
        var priority = new Option<int?>("--priority") { Description = "Memory priority (0-100)" };
        var resize = new Option<bool?>("--runtime-resize") { Description = "Static memory resizable while the VM runs (VM off)" };
        var wait = new Option<int?>("--wait") { Description = "Resizing a running VM: seconds to wait for the guest (1-600, default 30)" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("memory", "Show or change a VM's memory (Get-/Set-VMMemory)") { name, startup, dynamic, minimum, maximum, buffer, priority, resize, wait, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var vm = HostClient.Ref(result.GetValue(name)!);
            var request = new SetMemoryRequest { Vm = vm };
            if (result.GetValue(startup) is string s) request.StartupBytes = SizeParser.Parse(s, "--startup");
            if (result.GetValue(dynamic) is bool d) request.DynamicMemoryEnabled = d;
            if (result.GetValue(minimum) is string mi) request.MinimumBytes = SizeParser.Parse(mi, "--minimum");
            if (result.GetValue(maximum) is string ma) request.MaximumBytes = SizeParser.Parse(ma, "--maximum");
            if (result.GetValue(buffer) is int b) request.Buffer = b;
            if (result.GetValue(priority) is int p) request.Priority = p;
            if (result.GetValue(resize) is bool r) request.RuntimeResizeEnabled = r;
            if (result.GetValue(wait) is int w) request.WaitSeconds = w;
            bool changing = !request.Equals(new SetMemoryRequest { Vm = vm });
            var memory = changing ? await client.SetMemoryAsync(request).ResponseAsync.ConfigureAwait(false) : await client.GetMemoryAsync(vm).ResponseAsync.ConfigureAwait(false);
            HostClient.Warn(context, memory.Warnings);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(memory));
            else Print(context.Out, memory);
            return 0;
        }));
        return command;
    }

    private static void Print(TextWriter o, VmMemory m)
    {
        o.WriteLine($"Startup:              {SizeParser.Format(m.StartupBytes)}");
        o.WriteLine($"Runtime resize:       {(m.RuntimeResizeEnabled ? "on" : "off")}");
        o.WriteLine($"Hot-add room:         {SizeParser.Format(m.HotAddBytes)}");
        o.WriteLine($"Dynamic memory:       {(m.DynamicMemoryEnabled ? "on" : "off")}");
        o.WriteLine($"Minimum:              {SizeParser.Format(m.MinimumBytes)}");
        o.WriteLine($"Maximum:              {SizeParser.Format(m.MaximumBytes)}");
        o.WriteLine($"Buffer:               {m.Buffer} %");
        o.WriteLine($"Priority:             {m.Priority}");
        if (m.AssignedBytes > 0) o.WriteLine($"Assigned now:         {SizeParser.Format(m.AssignedBytes)}{(m.UnreachedBytes > 0 ? $" ({SizeParser.Format(m.UnreachedBytes)} short of the request)" : "")}");
    }
}
