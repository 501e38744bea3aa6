using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.State;
using static HyperSharp.Machine.Migration.MigrationProtocol;

namespace HyperSharp.Machine.Migration;

/// <summary>
/// The sending side of a live migration: streams a running VM's memory in pre-copy rounds (all of it, then what the guest
/// dirtied meanwhile) until what is left fits the downtime target and the destination has built the VM (Prepared), then
/// pauses the VM, closes its writable disks for the destination (<see cref="DiskHandover"/>), sends the last pages and the
/// processor, platform and device records, and hands over once the destination has opened the disks and applied them.
/// Until the handover, any failure or cancellation stops the dirty log, tells the destination (when the stream still
/// works), opens the writable disks again, resumes the VM if it was paused, and rethrows: the VM runs on here as it was.
/// </summary>
public static class MigrationSource
{
    /// <summary>
    /// Migrates <paramref name="vm"/> (running) over <paramref name="stream"/> to a <see cref="MigrationTarget"/>. On success
    /// the VM here is stopped (its <see cref="VirtualMachine.Run"/> returns <see cref="VmStopReason.Stopped"/>) and runs on the destination.
    /// </summary>
    /// <param name="config">The VM's configuration, as for <see cref="VirtualMachine.Save"/>.</param>
    /// <param name="backend">The backend's name, as for <see cref="VirtualMachine.Save"/>; the destination must run the same.</param>
    public static async Task<MigrationResult> SendAsync(VirtualMachine vm, SavedVmConfig config, string backend, Stream stream,
        MigrationOptions? options = null, CancellationToken cancel = default)
    {
        options ??= new MigrationOptions();
        var clock = Stopwatch.StartNew();
        var channel = new MigrationChannel(stream, "the destination");
        var rounds = new List<MigrationRound>();
        long pagesSent = 0;
        bool paused = false, committed = false;
        IReadOnlyList<SwitchableDisk>? released = null;
        var log = new DirtyPageLog(vm.Partition, vm.Ram.Slots); // before the first page is read: every later write is caught
        var throttle = new VcpuThrottle(vm, vm.Log);
        var warming = StateCodeWarmup.Start(vm.Partition.GetType()); // the capture in the pause runs compiled code, not the JIT
        try
        {
            channel.SendPreamble();
            channel.Send(Kind.Hello, Hello(vm.Memory.Size, backend, vm.CurrentConfig(config)));
            channel.Flush();
            await channel.ReceivePreambleAsync(cancel); // a destination of another protocol says why it refuses in its answer
            await channel.ReceiveAsync(Kind.Accept, "its answer to the hello", cancel);
            // The VM pauses only once the destination has built it: the pause then covers no construction (and a destination
            // that cannot build it fails while the VM runs here undisturbed).
            var prepared = channel.ReceiveAsync(Kind.Prepared, "word that the destination built the VM (Prepared)", cancel);

            // Round 0: everything the guest has touched; untouched and zero pages are zero on the destination already.
            double bytesPerSecond = Round(0, () => SendPages(channel, vm, ResidentPages.Of(vm.Memory), skipZero: true, cancel), paused: false);
            List<ulong> left;
            int outpaced = 0;
            for (int n = 1; ; n++)
            {
                cancel.ThrowIfCancellationRequested();
                left = log.Collect();
                double seconds = left.Count * (double)Page / bytesPerSecond;
                bool fits = seconds <= options.DowntimeTarget.TotalSeconds || n > options.MaxRounds;
                if (fits && prepared.IsCompleted) break;
                if (fits) await prepared; // the guest runs on meanwhile; what it dirtied goes in a round, then the check again
                else
                {
                    // The guest dirtied more than half of what the last round sent, twice running: it outpaces the link.
                    outpaced = left.Count * 2 > rounds[^1].Pages ? outpaced + 1 : 0;
                    if (options.AutoConverge && outpaced >= 2 && throttle.Percent < 99) { throttle.Increase(); outpaced = 0; }
                }
                var pages = left;
                bytesPerSecond = Round(n, () => SendPages(channel, vm, pages, skipZero: false, cancel), paused: false);
            }
            throttle.Dispose(); // the VM runs unthrottled until the pause below

            await warming; // done long before in any migration that took a round
            var pausedAt = clock.Elapsed;
            vm.Pause();
            paused = true;
            var parked = clock.Elapsed;
            var state = vm.CaptureState(config, backend); // quiesces the devices, whose last writes are then in the log
            var captured = clock.Elapsed;
            released = DiskHandover.Release(vm.AllDisks); // the devices are quiet: nothing in flight; the destination opens them after Done
            var closed = clock.Elapsed;
            left.AddRange(log.Collect());
            left.Sort();
            Round(rounds.Count, () => SendPages(channel, vm, Distinct(left), skipZero: false, cancel), paused: true);
            var records = new MemoryStream();
            new StateFileWriter(records).Write(state, memory: null);
            channel.Send(Kind.State, records.GetBuffer().AsSpan(0, (int)records.Length));
            channel.Send(Kind.Done, []);
            channel.Flush();
            var sent = clock.Elapsed;
            await channel.ReceiveAsync(Kind.Ready, "word that the VM is built (Ready)", cancel);
            var ready = clock.Elapsed;
            cancel.ThrowIfCancellationRequested(); // the last moment to keep the VM here
            committed = true; // from the first byte of Commit on the VM may be the destination's: this side never resumes it
            try { await HandOverAsync(channel, options.HandoverTimeout, cancel); }
            catch
            {
                log.Dispose(); // in doubt: the VM stays paused, the dirty log goes
                vm.HandedOverDisks = released; // a resume here, once the destination is known not to run it, opens them again
                throw;
            }
            var downtime = clock.Elapsed - pausedAt; // until the destination said it has the guest (it runs it from Commit on)
            vm.Log(FormattableString.Invariant($"migration: downtime {downtime.TotalMilliseconds:0.0} ms: vCPUs parked in {(parked - pausedAt).TotalMilliseconds:0.0}, state captured in {(captured - parked).TotalMilliseconds:0.0}, {released.Count} writable disks flushed and closed in {(closed - captured).TotalMilliseconds:0.0}, last {rounds[^1].Pages} pages and the state sent in {(sent - closed).TotalMilliseconds:0.0}, the destination opened the disks and applied the state in {(ready - sent).TotalMilliseconds:0.0}"));
            log.Dispose();
            vm.Stop(VmStopReason.Stopped, "moved to another host by live migration");
            return new MigrationResult(rounds, channel.BytesSent, pagesSent, clock.Elapsed, downtime);
        }
        catch (Exception e) when (!committed)
        {
            throttle.Dispose();
            log.Dispose();
            // The destination hears first: one that opened the disks lets go of them as it gives up, and only then can they open here.
            channel.Abort(e is OperationCanceledException ? "the source cancelled the migration" : $"the source failed: {e.Message}");
            if (released is not null)
            {
                try { DiskHandover.Reclaim(released, DiskHandover.ReclaimPatience); }
                catch (MigrationException held) { throw new MigrationException($"{e.Message}; then {held.Message}", held); }
            }
            if (paused) vm.Resume();
            throw;
        }

        // Runs one round and returns the link's speed in it (bytes per second) for the next estimate.
        double Round(int number, Func<long> send, bool paused)
        {
            var started = clock.Elapsed;
            long before = channel.BytesSent;
            long pages = send();
            if (!paused) channel.Send(Kind.RoundEnd, RoundEnd(number, pages));
            pagesSent += pages;
            var round = new MigrationRound(number, pages, channel.BytesSent - before, clock.Elapsed - started, paused, throttle.Percent);
            rounds.Add(round);
            options.Progress?.Invoke(round);
            return Math.Max(1 << 20, round.Bytes / Math.Max(round.Duration.TotalSeconds, 1e-4)); // never below 1 MiB/s: a tiny round measures nothing
        }
    }

    /// <summary>Commit, then the destination's word that it owns the VM; any failure on the way leaves the handover in doubt and the VM paused here.</summary>
    private static async Task HandOverAsync(MigrationChannel channel, TimeSpan timeout, CancellationToken cancel)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        wait.CancelAfter(timeout);
        try
        {
            channel.Send(Kind.Commit, []);
            channel.Flush(); // a failed write may still have delivered the frame: no less in doubt than a lost answer
            await channel.ReceiveAsync(Kind.Owned, "the destination's word that it owns the VM (Owned)", wait.Token);
        }
        catch (Exception e) when (e is MigrationException or OperationCanceledException or IOException)
        {
            string why = e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0} s" : e.Message;
            throw new MigrationHandoverInDoubtException(
                $"the handover is in doubt: Commit was sent but the destination never said it owns the VM ({why}); the VM stays paused here — resume it only once the destination is known not to run it", e);
        }
    }

    /// <summary>The Hello: the memory's size, then the machine as it is now (the destination builds it while memory arrives).</summary>
    private static byte[] Hello(ulong memorySize, string backend, SavedVmConfig config)
    {
        var hello = new HyperSharp.Hypervisor.State.StateWriter();
        hello.U64(memorySize);
        hello.String(backend);
        hello.U16(VmSavedState.MachineRecordVersion);
        config.Write(hello);
        return hello.ToArray();
    }

    private static byte[] RoundEnd(int number, long pages)
    {
        var payload = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)number);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(4), (ulong)pages);
        return payload;
    }

    private static IEnumerable<ulong> Distinct(List<ulong> sorted)
    {
        for (int i = 0; i < sorted.Count; i++)
            if (i == 0 || sorted[i] != sorted[i - 1]) yield return sorted[i];
    }

    /// <summary>Sends the pages at <paramref name="offsets"/> (ascending) as runs of contiguous pages, up to 256 a frame.</summary>
    private static long SendPages(MigrationChannel channel, VirtualMachine vm, IEnumerable<ulong> offsets, bool skipZero, CancellationToken cancel)
    {
        long sent = 0;
        ulong runStart = 0;
        int runPages = 0;
        foreach (ulong offset in offsets)
        {
            if (skipZero && !vm.Memory.GetSpan(offset, Page).ContainsAnyExcept((byte)0)) continue;
            if (runPages > 0 && (offset != runStart + (ulong)runPages * Page || runPages == MaxRunPages)) Flush();
            if (runPages == 0) runStart = offset;
            runPages++;
        }
        Flush();
        return sent;

        void Flush()
        {
            if (runPages == 0) return;
            cancel.ThrowIfCancellationRequested();
            channel.SendPages(runStart, vm.Memory.GetSpan(runStart, runPages * Page));
            sent += runPages;
            runPages = 0;
        }
    }
}
