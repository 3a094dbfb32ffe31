@{
    RootModule           = 'VirtFleet.Cmdlets.dll'
    # Stamped from Directory.Build.props by the build.
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.6'
    GUID                 = '5b0f3c55-7f4e-4d0e-9a7c-3f1e2f8a6b21'
    Author               = 'VirtFleet contributors'
    CompanyName          = 'VirtFleet'
    Copyright            = '(c) VirtFleet contributors. All rights reserved.'
    Description          = 'Agentless management of Linux KVM/libvirt hypervisor fleets over SSH: instances, images, networks, security rules and runbooks.'
    # Loaded before the root module: puts VirtFleet.Core and its dependencies in a private load context.
    NestedModules        = @('VirtFleet.Loader.dll')
    FormatsToProcess     = @('VirtFleet.Format.ps1xml')
    CmdletsToExport      = @(
        'Start-VfLab', 'Get-VfLab', 'Stop-VfLab',
        'Add-VfHost', 'Get-VfHost', 'Set-VfHost', 'Remove-VfHost', 'Test-VfHost', 'Disconnect-VfHost', 'Get-VfConnection',
        'Get-VfInstance', 'New-VfInstance', 'Start-VfInstance', 'Stop-VfInstance', 'Restart-VfInstance', 'Suspend-VfInstance',
        'Resume-VfInstance', 'Remove-VfInstance', 'Resize-VfInstance', 'Get-VfInstanceType', 'Import-VfImage', 'Get-VfImage', 'Remove-VfImage', 'Test-VfImage',
        'New-VfKeyPair', 'Import-VfKeyPair', 'Get-VfKeyPair', 'Remove-VfKeyPair', 'Get-VfPassword', 'Test-VfPlaybook', 'Invoke-VfPlaybook',
        'New-VfNetwork', 'Get-VfNetwork', 'Remove-VfNetwork', 'Repair-VfNetwork',
        'New-VfSecurityGroup', 'Get-VfSecurityGroup', 'Remove-VfSecurityGroup', 'Grant-VfNetworkAccess', 'Revoke-VfNetworkAccess',
        'New-VfAddress', 'Get-VfAddress', 'Set-VfAddress', 'Remove-VfAddress',
        'Checkpoint-VfInstance', 'Get-VfCheckpoint', 'Restore-VfCheckpoint', 'Remove-VfCheckpoint', 'Save-VfImage', 'Get-VfStorage', 'Remove-VfOrphan',
        'Test-VfMigration', 'Move-VfInstance', 'Invoke-VfRebalance',
        'New-VfImageBuild', 'Get-VfImageBuild', 'Complete-VfImageBuild', 'Remove-VfImageBuild',
        'Get-VfConsoleOutput', 'Connect-VfConsole',
        'Wait-VfInstance', 'Get-VfEvent', 'Register-VfInstanceEvent'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('libvirt', 'KVM', 'QEMU', 'SSH', 'virtualization', 'Linux', 'cloud')
            ProjectUri = 'https://example.invalid/virtfleet'
        }
    }
}
