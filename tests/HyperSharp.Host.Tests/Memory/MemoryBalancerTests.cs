using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Host.Service.Memory;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Tests.Memory;

/// <summary>
/// The balancer's rounds in process against workers that are a fake guest: each reports its demand, takes the memory it is
/// given, and the balancer's next round sees it.
/// </summary>
public class MemoryBalancerTests
{
    private const long MiB = 1L << 20, GiB = 1L << 30;

    private sealed class FakeGuests : IWorkerSupervisor
    {
        public Dictionary<Guid, (long Assigned, long Demand)> Memory { get; } = [];
        public List<(string Vm, long Bytes)> Resizes { get; } = [];

        public Task<WorkerResponse> SendAsync(ManagedVm vm, WorkerRequest request, CancellationToken cancellationToken, int? descriptor = null)
        {
            lock (Memory)
            {
                var (assigned, demand) = Memory[vm.Id];
                if (request.Op == WorkerOps.SetMemory)
                {
                    Resizes.Add((vm.Name, request.MemoryBytes));
                    Memory[vm.Id] = (assigned = request.MemoryBytes, demand);
                }
                else Assert.Equal(WorkerOps.Status, request.Op);
                return Task.FromResult(new WorkerResponse { Ok = true, Running = true, MemoryAssignedBytes = assigned, MemoryDemandBytes = demand });
            }
        }

        public Task<WorkerResponse?> LaunchAsync(ManagedVm vm, bool restore, Action<int> launched, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<WorkerResponse?> AdoptAsync(ManagedVm vm, int pid, CancellationToken cancellationToken) => throw new NotSupportedException();
        public void Kill(int pid) => throw new NotSupportedException();
        public event Action<ManagedVm, WorkerReport>? Reported { add { } remove { } }
        public event Action<ManagedVm, int, WorkerExitRecord?>? Ended { add { } remove { } }
    }

    private static ManagedVm Running(string name, bool dynamic, int priority = 50)
    {
        var vm = new ManagedVm(new VmFolder("/nonexistent/" + name), new VmConfiguration
        {
            Id = Guid.NewGuid(), Name = name,
            Memory = new MemorySettings { StartupBytes = 512 * MiB, DynamicMemoryEnabled = dynamic, MinimumBytes = 256 * MiB, MaximumBytes = 4 * GiB, Priority = priority },
        }, new VmRuntimeRecord());
        vm.ChangeState(PowerState.Running);
        return vm;
    }

    [Fact]
    public async Task Each_round_gives_the_VMs_their_targets_and_leaves_settled_VMs_alone()
    {
        var guests = new FakeGuests();
        var busy = Running("busy", dynamic: true);
        var idle = Running("idle", dynamic: true);
        var fixedVm = Running("static", dynamic: false);
        guests.Memory[busy.Id] = (512 * MiB, 1500 * MiB);
        guests.Memory[idle.Id] = (512 * MiB, 100 * MiB);
        guests.Memory[fixedVm.Id] = (512 * MiB, 500 * MiB);
        var balancer = new MemoryBalancer(() => [busy, idle, fixedVm], guests, new MemoryBalancerOptions { PoolBytes = 16 * GiB }, _ => { });

        var moved = await balancer.BalanceOnceAsync(CancellationToken.None);
        Assert.Equal(1800 * MiB, moved[busy.Id]); // 1500 MiB of demand and a 20% buffer
        Assert.Equal(256 * MiB, moved[idle.Id]); // its minimum: 120 MiB would be below it
        Assert.DoesNotContain(fixedVm.Id, moved.Keys); // static memory is the administrator's, not the balancer's
        for (int round = 0; round < MemoryBalancer.SettleRounds; round++)
            Assert.Empty(await balancer.BalanceOnceAsync(CancellationToken.None)); // the resized VMs' statistics predate the change
        Assert.Empty(await balancer.BalanceOnceAsync(CancellationToken.None)); // nothing left worth a resize

        guests.Memory[busy.Id] = (1800 * MiB, 1510 * MiB); // a small move is not worth a resize
        Assert.Empty(await balancer.BalanceOnceAsync(CancellationToken.None));
        guests.Memory[busy.Id] = (1800 * MiB, 300 * MiB); // the guest freed its memory
        Assert.Equal(360 * MiB, (await balancer.BalanceOnceAsync(CancellationToken.None))[busy.Id]);
    }

    [Fact]
    public async Task A_VM_in_an_administrators_operation_waits_for_the_next_round()
    {
        var guests = new FakeGuests();
        var vm = Running("saving", dynamic: true);
        guests.Memory[vm.Id] = (512 * MiB, 1500 * MiB);
        var saving = vm.TryBeginOperation("saving")!;
        var balancer = new MemoryBalancer(() => [vm], guests, new MemoryBalancerOptions { PoolBytes = 16 * GiB }, _ => { });
        Assert.Empty(await balancer.BalanceOnceAsync(CancellationToken.None));
        Assert.Empty(guests.Resizes);
        saving.Dispose();
        Assert.Equal(1800 * MiB, (await balancer.BalanceOnceAsync(CancellationToken.None))[vm.Id]);
    }

    [Fact]
    public async Task Scarce_memory_goes_to_the_higher_priority_guest()
    {
        var guests = new FakeGuests();
        var high = Running("high", dynamic: true, priority: 90);
        var low = Running("low", dynamic: true, priority: 10);
        guests.Memory[high.Id] = (512 * MiB, 2 * GiB);
        guests.Memory[low.Id] = (512 * MiB, 2 * GiB);
        var balancer = new MemoryBalancer(() => [high, low], guests, new MemoryBalancerOptions { PoolBytes = 3 * GiB }, _ => { });
        var moved = await balancer.BalanceOnceAsync(CancellationToken.None);
        Assert.True(moved[high.Id] > moved[low.Id] + 512 * MiB, $"high {moved[high.Id] / MiB} MiB, low {moved[low.Id] / MiB} MiB");
        Assert.True(moved[high.Id] + moved[low.Id] <= 3 * GiB);
    }
}
