using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>The host's automatic start and stop actions (Hyper-V's AutomaticStartAction and AutomaticStopAction), over the lifecycle.</summary>
public sealed class AutomaticActions(VmLifecycle lifecycle, Action<string> log)
{
    /// <summary>When the host starts: each VM whose automatic start action says so starts after its delay.</summary>
    public void Start(IEnumerable<ManagedVm> vms, CancellationToken stopping)
    {
        foreach (var vm in vms)
        {
            bool start = vm.Config.AutomaticStartAction == AutomaticStartAction.Start
                || (vm.Config.AutomaticStartAction == AutomaticStartAction.StartIfRunning && vm.Runtime.RunningWhenHostStopped);
            if (!start || vm.Damage is not null || vm.State is not (PowerState.Off or PowerState.Saved)) continue;
            var delay = TimeSpan.FromSeconds(vm.Config.AutomaticStartDelaySeconds);
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(delay, stopping).ConfigureAwait(false);
                    log($"VM '{vm.Name}': automatic start");
                    await lifecycle.StartAsync(vm, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { }
                catch (HostException e)
                {
                    log($"VM '{vm.Name}': automatic start failed: {e.Message}");
                    lifecycle.Publish(vm, VmChangeKind.Error, $"automatic start failed: {e.Message}");
                }
            }, CancellationToken.None);
        }
    }

    /// <summary>When the host stops: each running VM gets its automatic stop action (save, shut down or turn off), all at once.</summary>
    public async Task StopAsync(IEnumerable<ManagedVm> vms)
    {
        var running = vms.Where(vm => vm.State is PowerState.Running or PowerState.Paused).ToList();
        await Task.WhenAll(running.Select(async vm =>
        {
            vm.RecordRuntime(r => r with { RunningWhenHostStopped = true });
            try
            {
                switch (vm.Config.AutomaticStopAction)
                {
                    case AutomaticStopAction.Save:
                        await lifecycle.SaveAsync(vm, CancellationToken.None).ConfigureAwait(false);
                        break;
                    case AutomaticStopAction.ShutDown:
                        await lifecycle.StopAsync(vm, new StopOptions(Force: true), CancellationToken.None).ConfigureAwait(false);
                        break;
                    default:
                        await lifecycle.StopAsync(vm, new StopOptions(TurnOff: true), CancellationToken.None).ConfigureAwait(false);
                        break;
                }
            }
            catch (HostException e) { log($"VM '{vm.Name}': automatic stop action failed: {e.Message}"); }
        })).ConfigureAwait(false);
    }
}
