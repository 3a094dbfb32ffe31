# The lab itself, the fleet's hosts, host keys and pooled connections, on the 3-host lab (Linux and root only).
# Pester 6; see Common.ps1. Run under flock /run/lock/vf-dev-lab.lock.
BeforeDiscovery {
    $canRunLab = $IsLinux -and ((id -u) -eq 0)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

Describe 'The lab' -Tag Lab -Skip:(-not $canRunLab) {
    BeforeAll {
        $lab = Initialize-VfTestLab
    }

    It 'runs three hosts on its bridge' {
        $lab.HostCount | Should -BeGreaterOrEqual 3
        $lab.RunningCount | Should -BeGreaterOrEqual 3
        $lab.Hosts.Name | Should -Contain 'vfh1'
        $lab.Bridge | Should -Be 'vflab0'
        Test-Path $lab.Inventory | Should -BeTrue
    }

    It 'shows itself and its hosts as tables' {
        $table = Get-VfLab | ConvertTo-VfTable
        $table | Should -Match '(?m)^Hosts\s+Running\s+Bridge\s+AdminAddress\s+Inventory'
        $table | Should -Match ([regex]::Escape($lab.Inventory))
        $hosts = $lab.Hosts | ConvertTo-VfTable
        $hosts | Should -Match '(?m)^Name\s+Address\s+Namespace\s+Running'
        $hosts | Should -Match 'vfh1\s+198\.51\.100\.11'
    }

    It 'makes its inventory the session''s, so commands need no -Inventory' {
        (Get-VfHost).Name | Should -Contain 'vfh3'
        (Get-VfHost -Tag lab).Count | Should -BeGreaterOrEqual 3
    }

    It 'is started again without harm (Start-VfLab converges)' {
        $again = Start-VfLab -HostCount 3 -NoGuestImages -Confirm:$false
        $again.RunningCount | Should -Be $lab.RunningCount
        (Get-VfHost).Count | Should -Be 3
    }
}

Describe 'Hosts and host keys' -Tag Lab -Skip:(-not $canRunLab) {
    BeforeAll {
        $lab = Initialize-VfTestLab
        # An inventory of our own whose known_hosts starts empty: the lab's hosts are unknown to it.
        function Initialize-OwnInventory {
            $knownHosts = Join-Path $TestDrive "known_hosts-$([guid]::NewGuid())"
            Set-Content -Path $knownHosts -Value $null
            $path = Join-Path $TestDrive "inventory-$([guid]::NewGuid()).yml"
            Set-Content -Path $path -Value "knownHosts: $knownHosts"
            [pscustomobject]@{ Path = $path; KnownHosts = $knownHosts }
        }
    }

    It 'reports every host healthy through strict host keys' {
        $facts = Test-VfHost
        $facts.Count | Should -Be 3
        $facts | ForEach-Object { $_.Healthy | Should -BeTrue -Because $_.Name }
        $facts[0].LibvirtVersion | Should -Not -BeNullOrEmpty
    }

    It 'renders Test-VfHost as a table with every column' {
        $table = Test-VfHost | Sort-Object Name | ConvertTo-VfTable
        $table | Should -Match '(?m)^Name\s+Healthy\s+Type\s+Libvirt\s+Qemu\s+CPUs'
        $table | Should -Match '(?m)^vfh1\s+True'
    }

    It 'refuses an unknown host key with HostKeyUnknown and records nothing' {
        $own = Initialize-OwnInventory
        Add-VfHost -Name vfh1 -Address 198.51.100.11 -KeyFile $lab.KeyFile -Inventory $own.Path | Out-Null
        $err = { Test-VfHost -Inventory $own.Path -ErrorAction Stop } |
            Should -Throw -ErrorId 'HostKeyUnknown,VirtFleet.Cmdlets.Commands.TestVfHostCommand' -PassThru
        $err.CategoryInfo.Category | Should -Be 'SecurityError'
        $err.Exception.Message | Should -Match 'SHA256:[A-Za-z0-9+/]{43}'
        (Get-Item $own.KnownHosts).Length | Should -Be 0
    }

    It 'trusts a new host key on first use with Test-VfHost -AcceptNewHostKey, then stays strict' {
        $own = Initialize-OwnInventory
        Add-VfHost -Name vfh2 -Address 198.51.100.12 -KeyFile $lab.KeyFile -Inventory $own.Path | Out-Null
        (Test-VfHost -Inventory $own.Path -AcceptNewHostKey).Healthy | Should -BeTrue
        Get-Content $own.KnownHosts -Raw | Should -Match '\|1\|'
        Disconnect-VfHost -Inventory $own.Path
        (Test-VfHost -Inventory $own.Path).Healthy | Should -BeTrue
    }

    It 'registers a host and records its key in one step with Add-VfHost -AcceptNewHostKey' {
        $own = Initialize-OwnInventory
        Add-VfHost -Name vfh3 -Address 198.51.100.13 -KeyFile $lab.KeyFile -Inventory $own.Path -AcceptNewHostKey | Out-Null
        Get-Content $own.KnownHosts -Raw | Should -Match '\|1\|'
        (Test-VfHost -Inventory $own.Path).Healthy | Should -BeTrue
    }

    It 'refuses a changed host key with HostKeyChanged even with -AcceptNewHostKey' {
        $own = Initialize-OwnInventory
        # vfh2's key recorded under vfh1's address: vfh1 now shows a key that differs from the recorded one.
        $vfh2Key = (Get-Content $lab.KnownHosts | Where-Object { $_ -like '198.51.100.12 *' } | Select-Object -First 1).Split(' ', 2)[1]
        Set-Content -Path $own.KnownHosts -Value "198.51.100.11 $vfh2Key"
        Add-VfHost -Name vfh1 -Address 198.51.100.11 -KeyFile $lab.KeyFile -Inventory $own.Path | Out-Null
        { Test-VfHost -Inventory $own.Path -AcceptNewHostKey -ErrorAction Stop } |
            Should -Throw -ErrorId 'HostKeyChanged,VirtFleet.Cmdlets.Commands.TestVfHostCommand'
    }

    It 'writes one error per unreachable host and goes on with the others' {
        $own = Initialize-OwnInventory
        Add-VfHost -Name vfh1 -Address 198.51.100.11 -KeyFile $lab.KeyFile -Inventory $own.Path | Out-Null
        Add-VfHost -Name gone -Address 198.51.100.250 -KeyFile $lab.KeyFile -Inventory $own.Path | Out-Null
        $facts = Test-VfHost -Inventory $own.Path -AcceptNewHostKey -ConnectTimeout 3 -ErrorVariable failed -ErrorAction SilentlyContinue
        $facts.Name | Should -Be 'vfh1'
        $failed.Count | Should -Be 1
        $failed[0].TargetObject | Should -Match 'gone'
    }

    It 'completes -Host with the lab''s host names' {
        Get-VfCompletion 'Get-VfInstance -Host vfh' | Should -Be 'vfh1', 'vfh2', 'vfh3'
    }

    It 'selects hosts by tag and pipes them to Test-VfHost' {
        $facts = Get-VfHost -Tag lab | Where-Object Name -EQ 'vfh2' | Test-VfHost
        $facts.Name | Should -Be 'vfh2'
        $facts.Healthy | Should -BeTrue
    }
}

Describe 'Connections' -Tag Lab -Skip:(-not $canRunLab) {
    BeforeAll {
        Initialize-VfTestLab | Out-Null
    }

    It 'keeps one connection per host across commands in the session' {
        Disconnect-VfHost -Name *
        Test-VfHost | Out-Null
        Get-VfInstance | Out-Null
        $connections = Get-VfConnection | Where-Object Host -Like 'vfh*'
        $connections.Count | Should -Be 3
        $connections | ForEach-Object { $_.Handshakes | Should -Be 1 -Because $_.Host }
    }

    It 'shows connections as a table' {
        Test-VfHost | Out-Null
        $table = Get-VfConnection | ConvertTo-VfTable
        $table | Should -Match '(?m)^Host\s+Address\s+User\s+Connected\s+Handshakes\s+Commands'
        $table | Should -Match 'vfh1\s+198\.51\.100\.11\s+root\s+True'
    }

    It 'closes one host''s connection with Disconnect-VfHost -Name, and every one with -Name *' {
        Test-VfHost | Out-Null
        Disconnect-VfHost -Name vfh1
        (Get-VfConnection | Where-Object { $_.Host -eq 'vfh1' -and $_.Connected }) | Should -BeNullOrEmpty
        (Get-VfConnection | Where-Object { $_.Host -eq 'vfh2' -and $_.Connected }) | Should -Not -BeNullOrEmpty
        Disconnect-VfHost -Name *
        Get-VfConnection | Where-Object Connected | Should -BeNullOrEmpty
        (Test-VfHost -Host vfh1).Healthy | Should -BeTrue
    }

    It 'closes every connection with a bare Disconnect-VfHost' {
        Test-VfHost | Out-Null
        Disconnect-VfHost
        Get-VfConnection | Where-Object Connected | Should -BeNullOrEmpty
    }
}
