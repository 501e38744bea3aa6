using System.Buffers.Binary;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.State;
using HyperSharp.Machine.State;
using HyperSharp.Networking.Links;
using static HyperSharp.Machine.Migration.MigrationProtocol;

namespace HyperSharp.Machine.Migration;

/// <summary>
/// The receiving side of a live migration: takes the source's memory rounds into fresh guest memory, builds the VM from the
/// records that follow (as a restore does), says Ready, and returns the VM — not yet running — once the source commits.
/// A refused, abandoned or broken migration discards what arrived and throws; the source keeps its VM.
/// </summary>
public static class MigrationTarget
{
    /// <summary>How long a built VM waits for the source's Commit after Ready.</summary>
    private static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Receives one VM over <paramref name="stream"/>; run the result to continue the guest here.</summary>
    public static async Task<VirtualMachine> ReceiveAsync(IHypervisor hypervisor, Stream stream, Action<byte> console, Action<string> log,
        Func<SavedNetworkAdapter, Func<IFrameLink>?>? connectAdapter = null, CancellationToken cancel = default, Func<VmConfig, VmConfig>? localize = null)
    {
        var channel = new MigrationChannel(stream, "the source");
        try { return await ReceiveAsync(channel, hypervisor, console, log, connectAdapter, localize, cancel); }
        catch (Exception e)
        {
            // Whatever failed, the source hears it and the stream closes: a source never waits on a destination that gave up.
            channel.Abort(e is OperationCanceledException ? "the destination cancelled the migration" : $"the destination failed: {e.Message}");
            throw;
        }
    }

    private static async Task<VirtualMachine> ReceiveAsync(MigrationChannel channel, IHypervisor hypervisor, Action<byte> console, Action<string> log,
        Func<SavedNetworkAdapter, Func<IFrameLink>?>? connectAdapter, Func<VmConfig, VmConfig>? localize, CancellationToken cancel)
    {
        channel.SendPreamble();
        channel.Flush();
        var (version, build) = await channel.ReceivePreambleAsync(cancel);
        if (version is 0 or > ProtocolVersion)
        {
            string why = $"the source is HyperSharp {build}, speaking migration protocol {version}; this is HyperSharp {StateFileFormat.ThisBuild}, which speaks protocols 1 to {ProtocolVersion}";
            channel.Send(Kind.Refuse, why);
            channel.Flush();
            throw new MigrationException(why);
        }
        var (size, backend, machine) = ReadHello((await channel.ReceiveAsync(Kind.Hello, "the hello", cancel)).Span);
        if (backend != hypervisor.Name)
        {
            string why = $"the VM runs on the {backend} backend; this destination runs {hypervisor.Name}";
            channel.Send(Kind.Refuse, why);
            channel.Flush();
            throw new MigrationException(why);
        }
        GuestMemory memory;
        try { memory = GuestMemory.Allocate(size); }
        catch (HypervisorException e)
        {
            channel.Send(Kind.Refuse, e.Message);
            channel.Flush();
            throw new MigrationException($"refused the source's guest memory: {e.Message}", e);
        }

        VirtualMachineBuilder? prepared = null;
        VirtualMachine? vm = null;
        try
        {
            channel.Send(Kind.Accept, []);
            channel.Flush();
            // The VM is built from its configuration while its memory arrives; the pause then covers only its records.
            var preparing = Task.Run(() => VirtualMachineBuilder.Prepare(hypervisor, machine, memory, console, log, connectAdapter, localize));
            var warming = StateCodeWarmup.Start(hypervisor.GetType()); // the restore below runs compiled code, not the JIT
            byte[] state;
            try
            {
                state = await ReceiveMemoryAsync(channel, memory, version >= 2 ? preparing : null, cancel);
                prepared = await preparing;
                await warming;
            }
            catch
            {
                try { (await preparing).Abandon(); } catch { } // a preparation that failed has cleaned up after itself
                throw;
            }
            using (var file = VmStateFile.Open(new MemoryStream(state, writable: false), "the VM state the source sent"))
            {
                var ready = prepared;
                prepared = null;
                if (Encode(file.State.Config).AsSpan().SequenceEqual(Encode(machine)))
                    vm = ready.Complete(file);
                else
                {
                    // The machine changed during the migration (a device added or removed): build it again as it is now.
                    ready.Abandon();
                    vm = VirtualMachineBuilder.Restore(hypervisor, file, memory, console, log, connectAdapter);
                }
            }
            channel.Send(Kind.Ready, []);
            channel.Flush();
            // A source that went quiet after Ready keeps its copy paused (in doubt) without our Owned: giving up is safe.
            using (var commit = CancellationTokenSource.CreateLinkedTokenSource(cancel))
            {
                commit.CancelAfter(CommitTimeout);
                try { await channel.ReceiveAsync(Kind.Commit, "the handover (Commit)", commit.Token); }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                {
                    throw new MigrationException($"the source did not commit within {CommitTimeout.TotalSeconds:0} s of Ready; the VM built here is discarded");
                }
            }
            // The VM is this side's now, whether or not the source hears so: a source that does not keeps its copy paused.
            try
            {
                channel.Send(Kind.Owned, []);
                channel.Flush();
            }
            catch (Exception e) when (e is MigrationException or IOException or ObjectDisposedException) { log($"migration: the source did not hear that the VM is here ({e.Message}); it keeps its copy paused"); }
            return vm;
        }
        catch
        {
            prepared?.Abandon();
            if (vm is not null) vm.Dispose();
            else memory.Dispose();
            throw;
        }
    }

    private static (ulong Size, string Backend, SavedVmConfig Machine) ReadHello(ReadOnlySpan<byte> hello)
    {
        try
        {
            var r = new StateReader(hello, "the hello");
            ulong size = r.U64();
            string backend = r.String();
            ushort machineVersion = r.U16();
            if (machineVersion > VmSavedState.MachineRecordVersion)
                throw new MigrationException($"the source describes the machine in record version {machineVersion}; this build reads up to {VmSavedState.MachineRecordVersion}");
            return (size, backend, SavedVmConfig.Read(ref r, machineVersion));
        }
        catch (StateRecordException e) { throw new MigrationException($"the source's hello cannot be read: {e.Problem}", e); }
    }

    private static byte[] Encode(SavedVmConfig config)
    {
        var w = new StateWriter();
        config.Write(w);
        return w.ToArray();
    }

    /// <summary>
    /// Writes each Pages frame into guest memory until Done; returns the State frame's records. With <paramref name="preparing"/>
    /// (a source of protocol 2, which pauses only after it hears) says Prepared as soon as the VM is built, between frames.
    /// </summary>
    private static async Task<byte[]> ReceiveMemoryAsync(MigrationChannel channel, GuestMemory memory, Task<VirtualMachineBuilder>? preparing, CancellationToken cancel)
    {
        byte[]? state = null;
        var next = channel.ReceiveAsync("memory pages, the VM state or the end", cancel);
        for (; ; next = channel.ReceiveAsync("memory pages, the VM state or the end", cancel))
        {
            if (preparing is not null)
            {
                // A source done with its rounds sends nothing until it hears Prepared: wait for whichever comes first.
                await Task.WhenAny(next, preparing);
                if (preparing.IsCompleted)
                {
                    await preparing; // a build that failed fails the migration here, the source still running the VM
                    channel.Send(Kind.Prepared, []);
                    channel.Flush();
                    preparing = null;
                }
            }
            var (kind, payload) = await next;
            switch (kind)
            {
                case Kind.Pages:
                    ulong offset = payload.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(payload.Span) : ulong.MaxValue;
                    int length = payload.Length - 8;
                    if (length <= 0 || length % Page != 0 || offset % Page != 0 || !memory.Contains(offset, (ulong)length))
                        throw new MigrationException($"the stream from the source is damaged: a Pages frame of {length} bytes at 0x{offset:X} does not fit 0x{memory.Size:X} bytes of guest memory in whole pages");
                    memory.Write(offset, payload.Span[8..]);
                    break;
                case Kind.RoundEnd:
                    break;
                case Kind.State:
                    state = payload.ToArray();
                    break;
                case Kind.Done:
                    return state ?? throw new MigrationException("the source ended the migration without sending the VM's state");
                default:
                    throw new MigrationException($"the source sent a {kind} frame in the middle of the memory: the stream is out of step");
            }
        }
    }
}
